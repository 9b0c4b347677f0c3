import { packr, str, uint } from "./codec.js";
import { LockError } from "./errors.js";
import type { MultiHolderState, PermitHolder, PermitWaiter } from "./multi-holder-state.js";
import * as stored from "./record-rows.js";

// Persistent format of a multi-holder key: [MULTI_HOLDER_RECORD_FORMAT, key, permits, holders,
// waiters] for a semaphore, with a 6th field RW_KIND for a reader-writer key (so semaphore
// records keep their bytes); a holder [value, token, leaseRevision, ttlMs, count], a waiter
// [value, waiterId, waiterRevision, ttlMs, waitMs, requestId, count]. The exclusive lock records
// are 10-field arrays starting with format 1, so the first two bytes tell the kinds apart.
const MULTI_HOLDER_RECORD_FORMAT = 2;
/** msgpack heads of a 5-field (semaphore) and a 6-field (reader-writer) record. */
const FIXARRAY_5 = 0x95;
const FIXARRAY_6 = 0x96;
const RW_KIND = "rw";
const HOLDER_FIELDS = [
  "value",
  "token",
  "leaseRevision",
  "ttlMs",
  "count",
] as const satisfies readonly (keyof PermitHolder)[];
const WAITER_FIELDS = [
  ...stored.QUEUED_FIELDS,
  "requestId",
  "count",
] as const satisfies readonly (keyof PermitWaiter)[];

// A snapshot holding multi-holder keys is [MULTI_HOLDER_SNAPSHOT_FORMAT, lockSnapshot, rows] with
// the exclusive lock table's own snapshot bytes inside and rows sorted by key; a table without
// them keeps the lock snapshot's bytes unchanged.
const MULTI_HOLDER_SNAPSHOT_FORMAT = 2;

function malformed(message: string): never {
  throw new LockError("MALFORMED", `malformed semaphore data: ${message}`);
}

function rowOf(s: MultiHolderState): unknown[] {
  const row = [
    s.key,
    s.permits,
    s.holders.map((h) => stored.tupleOf(h, HOLDER_FIELDS)),
    s.waiters.map((w) => stored.tupleOf(w, WAITER_FIELDS)),
  ];
  if (s.kind === "rw") row.push(RW_KIND);
  return row;
}

function stateOf(row: unknown[], offset: number): MultiHolderState {
  const rw = row.length === offset + 5 && row[offset + 4] === RW_KIND;
  if (row.length !== offset + 4 && !rw) malformed("row is not a 4-field (or reader-writer) array");
  const key = str(row[offset], "key");
  const permits = uint(row[offset + 1], "permits");
  const rawHolders = row[offset + 2];
  const rawWaiters = row[offset + 3];
  if (!Array.isArray(rawHolders) || !Array.isArray(rawWaiters))
    malformed("holders and waiters must be arrays");
  const holders = (rawHolders as unknown[]).map((raw) =>
    stored.fromTuple<PermitHolder>(raw, HOLDER_FIELDS, "holder", malformed),
  );
  const waiters = (rawWaiters as unknown[]).map((raw) =>
    stored.fromTuple<PermitWaiter>(raw, WAITER_FIELDS, "waiter", malformed),
  );
  let held = 0;
  for (const h of holders) held += h.count;
  const kind = rw ? "rw" : "semaphore";
  const state: MultiHolderState = { key, kind, permits, held, holders, waiters };
  checkMultiHolderState(state);
  return state;
}

/** Rejects a decoded record that breaks the MultiHolderState invariants. */
function checkMultiHolderState(s: MultiHolderState): void {
  if (s.permits < 1) malformed(`${s.key}: permits must be ≥ 1`);
  if (s.holders.length === 0) malformed(`${s.key}: no holders`);
  if (s.held > s.permits) malformed(`${s.key}: more permits held than exist`);
  const values = new Set<string>();
  for (const h of s.holders) {
    if (h.count < 1 || h.token < 1 || h.leaseRevision < h.token) malformed(`${s.key}: bad holder`);
    if (values.has(h.value)) malformed(`${s.key}: duplicate value`);
    values.add(h.value);
  }
  for (const w of s.waiters)
    if (w.count < 1 || w.count > s.permits) malformed(`${s.key}: bad waiter count`);
  // A reader takes 1 slot of a reader-writer key and a writer all of them (held ≤ permits then
  // keeps a writer alone).
  if (s.kind === "rw") {
    if (s.permits < 2) malformed(`${s.key}: a reader-writer key needs 2 slots or more`);
    for (const x of [...s.holders, ...s.waiters])
      if (x.count !== 1 && x.count !== s.permits) malformed(`${s.key}: neither reader nor writer`);
  }
  stored.checkQueue(s.key, s.waiters, values, malformed);
  const head = s.waiters[0];
  if (head !== undefined && head.count <= s.permits - s.held)
    malformed(`${s.key}: the head waiter fits but was not granted`);
}

/** Whether a stored record is a multi-holder key's (else it is an exclusive lock's). */
export function isMultiHolderRecord(bytes: Uint8Array): boolean {
  return (
    (bytes[0] === FIXARRAY_5 || bytes[0] === FIXARRAY_6) && bytes[1] === MULTI_HOLDER_RECORD_FORMAT
  );
}

export function encodeMultiHolderRecord(state: MultiHolderState): Uint8Array {
  return stored.packRecord(MULTI_HOLDER_RECORD_FORMAT, rowOf(state));
}

export function decodeMultiHolderRecord(bytes: Uint8Array): MultiHolderState {
  return stateOf(stored.unpackRecord(bytes, MULTI_HOLDER_RECORD_FORMAT, malformed), 1);
}

/** Whether snapshot bytes carry multi-holder keys (else they are a plain lock-table snapshot). */
export function isMultiHolderSnapshot(bytes: Uint8Array): boolean {
  return bytes[0] === 0x93 && bytes[1] === MULTI_HOLDER_SNAPSHOT_FORMAT;
}

/** States must be sorted by key by the caller (the snapshot's determinism depends on it). */
export function encodeMultiHolderSnapshot(
  lockSnapshot: Uint8Array,
  sortedStates: MultiHolderState[],
): Uint8Array {
  return packr.pack([MULTI_HOLDER_SNAPSHOT_FORMAT, lockSnapshot, sortedStates.map(rowOf)]);
}

export function decodeMultiHolderSnapshot(bytes: Uint8Array): {
  lockSnapshot: Uint8Array;
  states: MultiHolderState[];
} {
  const { inner, rows } = stored.unpackWrappedSnapshot(
    bytes,
    MULTI_HOLDER_SNAPSHOT_FORMAT,
    malformed,
  );
  const states = stored.sortedRows(
    rows,
    (row) => {
      if (!Array.isArray(row)) malformed("row is not an array");
      return stateOf(row as unknown[], 0);
    },
    malformed,
  );
  return { lockSnapshot: inner, states };
}
