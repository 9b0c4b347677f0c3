// Pieces of the stored formats (records and snapshots) that every table's codec shares: records
// are msgpack arrays of positional tuples whose first field is a string (a key or a value) and
// whose other fields are non-negative integers.
import { packr, str, uint } from "./codec.js";
import type { QueuedAcquire } from "./key-state.js";

/** The leading fields of every stored waiter tuple (each table appends its own). */
export const QUEUED_FIELDS = [
  "value",
  "waiterId",
  "waiterRevision",
  "ttlMs",
  "waitMs",
] as const satisfies readonly (keyof QueuedAcquire)[];

/** Throws the codec's MALFORMED error; never returns. */
export type Malformed = (message: string) => never;

/** The named fields of `object` as a positional tuple, in the order `names` gives. */
export function tupleOf<T>(object: T, names: readonly (keyof T & string)[]): unknown[] {
  const tuple = new Array<unknown>(names.length);
  for (let i = 0; i < names.length; i++) tuple[i] = object[names[i]!];
  return tuple;
}

/** Reads a tuple written by tupleOf: `names[0]` a string, the others non-negative integers. */
export function fromTuple<T>(
  raw: unknown,
  names: readonly (keyof T & string)[],
  what: string,
  malformed: Malformed,
): T {
  if (!Array.isArray(raw) || raw.length !== names.length)
    malformed(`${what} is not a ${names.length}-field array`);
  const tuple = raw as unknown[];
  const object: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    object[name] = i === 0 ? str(tuple[0], `${what}.${name}`) : uint(tuple[i], `${what}.${name}`);
  }
  return object as T;
}

/** Unpacks stored bytes; anything that is not msgpack is MALFORMED (`what` names the bytes). */
export function unpackStored(bytes: Uint8Array, what: string, malformed: Malformed): unknown {
  try {
    return packr.unpack(bytes);
  } catch {
    return malformed(`${what} is not msgpack`);
  }
}

/** Decodes a snapshot's rows, which must be sorted by key (equal tables, equal bytes). */
export function sortedRows<T extends { key: string }>(
  rows: unknown,
  decode: (row: unknown) => T,
  malformed: Malformed,
): T[] {
  if (!Array.isArray(rows)) malformed("rows must be an array");
  const states: T[] = [];
  let previous: string | null = null;
  for (const row of rows as unknown[]) {
    const state = decode(row);
    if (previous !== null && !(previous < state.key)) malformed("rows not sorted by key");
    previous = state.key;
    states.push(state);
  }
  return states;
}

/**
 * Rejects a decoded queue out of waiterId order, or with a value already in `values` (the key's
 * holders, and each waiter once); adds the waiters' values to `values`.
 */
export function checkQueue(
  key: string,
  waiters: readonly QueuedAcquire[],
  values: Set<string>,
  malformed: Malformed,
): void {
  let previousId = 0;
  for (const w of waiters) {
    if (values.has(w.value)) malformed(`${key}: duplicate waiter value`);
    if (w.waiterId <= previousId || w.waiterRevision < w.waiterId)
      malformed(`${key}: waiters out of order`);
    values.add(w.value);
    previousId = w.waiterId;
  }
}

/** A stored record: the table's `row` behind its format number. */
export function packRecord(format: number, row: unknown[]): Uint8Array {
  row.unshift(format);
  return packr.pack(row);
}

/** The fields of a record written by packRecord(format, …), the format number first. */
export function unpackRecord(bytes: Uint8Array, format: number, malformed: Malformed): unknown[] {
  const decoded = unpackStored(bytes, "record", malformed);
  if (!Array.isArray(decoded) || decoded[0] !== format) malformed("unknown record format");
  return decoded as unknown[];
}

/**
 * Reads a snapshot that wraps another table's snapshot: [format, innerBytes, rows]. Anything else
 * is MALFORMED.
 */
export function unpackWrappedSnapshot(
  bytes: Uint8Array,
  format: number,
  malformed: Malformed,
): { inner: Uint8Array; rows: unknown } {
  const decoded = unpackStored(bytes, "snapshot", malformed);
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 3 ||
    decoded[0] !== format ||
    !(decoded[1] instanceof Uint8Array)
  )
    malformed("unknown snapshot format");
  const [, inner, rows] = decoded as [number, Uint8Array, unknown];
  return { inner, rows };
}
