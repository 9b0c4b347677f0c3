import { packr, str, uint } from "./codec.js";
import { LockError } from "./errors.js";
import type { KeyState, Waiter } from "./key-state.js";
import { NOT_PLAIN, readPlainString, readPlainUint } from "./plain-record-reader.js";
import type { PlainReader } from "./plain-record-reader.js";
import {
  checkQueue,
  fromTuple,
  packRecord,
  QUEUED_FIELDS,
  sortedRows,
  tupleOf,
  unpackRecord,
  unpackStored,
} from "./record-rows.js";

// Persistent formats of the lock table. A snapshot is [SNAPSHOT_FORMAT, appliedIndex, rows] with
// rows sorted by key, so equal tables give equal bytes on every member. A lock record (one LevelDB
// value per key) is [RECORD_FORMAT, ...row]. A row is
// [key, holder|null, token, leaseRevision, ttlMs, lockDelayMs, delayRevision, delayMs, waiters]
// and a waiter is [value, waiterId, waiterRevision, ttlMs, waitMs, lockDelayMs, requestId].
const SNAPSHOT_FORMAT = 1;
const RECORD_FORMAT = 1;
const WAITER_FIELDS = [
  ...QUEUED_FIELDS,
  "lockDelayMs",
  "requestId",
] as const satisfies readonly (keyof Waiter)[];

function malformed(message: string): never {
  throw new LockError("MALFORMED", `malformed lock table data: ${message}`);
}

function rowOf(state: KeyState): unknown[] {
  const waiters = new Array<unknown[]>(state.waiters.length);
  for (const [i, w] of state.waiters.entries()) waiters[i] = tupleOf(w, WAITER_FIELDS);
  return [
    state.key,
    state.holder,
    state.token,
    state.leaseRevision,
    state.ttlMs,
    state.lockDelayMs,
    state.delayRevision,
    state.delayMs,
    waiters,
  ];
}

function stateOf(row: unknown, offset: number): KeyState {
  if (!Array.isArray(row) || row.length !== offset + 9) malformed("row is not a 9-field array");
  const f = row as unknown[];
  const holder = f[offset + 1];
  if (holder !== null && typeof holder !== "string") malformed("holder must be a string or null");
  const rawWaiters = f[offset + 8];
  if (!Array.isArray(rawWaiters)) malformed("waiters must be an array");
  const waiters: Waiter[] = [];
  for (const raw of rawWaiters as unknown[])
    waiters.push(fromTuple<Waiter>(raw, WAITER_FIELDS, "waiter", malformed));
  const state: KeyState = {
    key: str(f[offset], "key"),
    holder: holder as string | null,
    token: uint(f[offset + 2], "token"),
    leaseRevision: uint(f[offset + 3], "leaseRevision"),
    ttlMs: uint(f[offset + 4], "ttlMs"),
    lockDelayMs: uint(f[offset + 5], "lockDelayMs"),
    delayRevision: uint(f[offset + 6], "delayRevision"),
    delayMs: uint(f[offset + 7], "delayMs"),
    waiters,
  };
  checkKeyState(state);
  return state;
}

/** Rejects a decoded record that breaks the KeyState invariants (corruption or a foreign format). */
function checkKeyState(s: KeyState): void {
  if ((s.holder === null) !== (s.token === 0)) malformed(`${s.key}: holder and token disagree`);
  if (s.holder !== null && (s.leaseRevision < s.token || s.delayRevision !== 0))
    malformed(`${s.key}: bad lease or delay revision`);
  // A key with neither a holder nor a running delay must not exist (waiters alone cannot wait).
  if (s.holder === null && s.delayRevision === 0) malformed(`${s.key}: no holder and no delay`);
  if (s.waiters.length === 0) return;
  checkQueue(s.key, s.waiters, new Set(s.holder === null ? [] : [s.holder]), malformed);
}

export function encodeKeyStateRecord(state: KeyState): Uint8Array {
  return packRecord(RECORD_FORMAT, rowOf(state));
}

export function decodeKeyStateRecord(bytes: Uint8Array): KeyState {
  return stateOf(unpackRecord(bytes, RECORD_FORMAT, malformed), 1);
}

/** msgpack heads of a lock record (10 fields) and of an empty waiter list. */
const FIXARRAY_10 = 0x9a;
const FIXARRAY_EMPTY = 0x90;

/**
 * decodeKeyStateRecord() into `into` (its fields overwritten, its waiters left as they are) for
 * a record in the plain shape almost every record has: no waiters, ASCII strings, numbers below
 * 2^32. Returns false for any other record, `into` then garbage: decodeKeyStateRecord() decodes
 * (or rejects) it. A million records built no array, object or Set each (see
 * plain-record-reader.ts). `into.waiters` must be empty.
 */
export function decodePlainKeyStateRecordInto(bytes: Uint8Array, into: KeyState): boolean {
  if (bytes[0] !== FIXARRAY_10 || bytes[1] !== RECORD_FORMAT) return false;
  const reader: PlainReader = { bytes, at: 2 };
  const key = readPlainString(reader, false);
  const holder = readPlainString(reader, true);
  if (key === undefined || key === null || holder === undefined) return false;
  into.key = key;
  into.holder = holder;
  if ((into.token = readPlainUint(reader)) === NOT_PLAIN) return false;
  if ((into.leaseRevision = readPlainUint(reader)) === NOT_PLAIN) return false;
  if ((into.ttlMs = readPlainUint(reader)) === NOT_PLAIN) return false;
  if ((into.lockDelayMs = readPlainUint(reader)) === NOT_PLAIN) return false;
  if ((into.delayRevision = readPlainUint(reader)) === NOT_PLAIN) return false;
  if ((into.delayMs = readPlainUint(reader)) === NOT_PLAIN) return false;
  // Anything after the empty waiter list: the general decoder says what is wrong.
  if (bytes[reader.at] !== FIXARRAY_EMPTY || reader.at + 1 !== bytes.length) return false;
  checkKeyState(into);
  return true;
}

/** States must be sorted by key by the caller (the snapshot's determinism depends on it). */
export function encodeTableSnapshot(appliedIndex: number, sortedStates: KeyState[]): Uint8Array {
  const rows = new Array<unknown[]>(sortedStates.length);
  for (const [i, state] of sortedStates.entries()) rows[i] = rowOf(state);
  return packr.pack([SNAPSHOT_FORMAT, appliedIndex, rows]);
}

export function decodeTableSnapshot(bytes: Uint8Array): {
  appliedIndex: number;
  states: KeyState[];
} {
  const decoded = unpackStored(bytes, "snapshot", malformed);
  if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== SNAPSHOT_FORMAT)
    malformed("unknown snapshot format");
  const appliedIndex = uint(decoded[1], "appliedIndex");
  const states = sortedRows(decoded[2], (row) => stateOf(row, 0), malformed);
  return { appliedIndex, states };
}
