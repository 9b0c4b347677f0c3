import { packr, str, uint } from "./codec.js";
import { LockError } from "./errors.js";
import type { KeyState, Waiter } from "./key-state.js";

// Persistent formats of the lock table. A snapshot is [SNAPSHOT_FORMAT, appliedIndex, rows] with
// rows sorted by key, so equal tables give equal bytes on every member. A lock record (one LevelDB
// value per key) is [RECORD_FORMAT, ...row]. A row is
// [key, holder|null, token, leaseRevision, ttlMs, lockDelayMs, delayRevision, delayMs, waiters]
// and a waiter is [value, waiterId, waiterRevision, ttlMs, waitMs, lockDelayMs, requestId].
const SNAPSHOT_FORMAT = 1;
const RECORD_FORMAT = 1;

function malformed(message: string): never {
  throw new LockError("MALFORMED", `malformed lock table data: ${message}`);
}

function rowOf(state: KeyState): unknown[] {
  const waiters = new Array<unknown[]>(state.waiters.length);
  for (const [i, w] of state.waiters.entries()) {
    waiters[i] = [
      w.value,
      w.waiterId,
      w.waiterRevision,
      w.ttlMs,
      w.waitMs,
      w.lockDelayMs,
      w.requestId,
    ];
  }
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
  for (const raw of rawWaiters as unknown[]) {
    if (!Array.isArray(raw) || raw.length !== 7) malformed("waiter is not a 7-field array");
    const w = raw as unknown[];
    waiters.push({
      value: str(w[0], "waiter.value"),
      waiterId: uint(w[1], "waiter.waiterId"),
      waiterRevision: uint(w[2], "waiter.waiterRevision"),
      ttlMs: uint(w[3], "waiter.ttlMs"),
      waitMs: uint(w[4], "waiter.waitMs"),
      lockDelayMs: uint(w[5], "waiter.lockDelayMs"),
      requestId: uint(w[6], "waiter.requestId"),
    });
  }
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
  const seen = new Set<string>();
  let previousId = 0;
  for (const w of s.waiters) {
    if (w.value === s.holder || seen.has(w.value)) malformed(`${s.key}: duplicate waiter value`);
    if (w.waiterId <= previousId || w.waiterRevision < w.waiterId)
      malformed(`${s.key}: waiters out of order`);
    seen.add(w.value);
    previousId = w.waiterId;
  }
}

export function encodeKeyStateRecord(state: KeyState): Uint8Array {
  const row = rowOf(state);
  row.unshift(RECORD_FORMAT);
  return packr.pack(row);
}

export function decodeKeyStateRecord(bytes: Uint8Array): KeyState {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch {
    malformed("record is not msgpack");
  }
  if (!Array.isArray(decoded) || decoded[0] !== RECORD_FORMAT) malformed("unknown record format");
  return stateOf(decoded, 1);
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
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch {
    malformed("snapshot is not msgpack");
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== SNAPSHOT_FORMAT)
    malformed("unknown snapshot format");
  const appliedIndex = uint(decoded[1], "appliedIndex");
  if (!Array.isArray(decoded[2])) malformed("rows must be an array");
  const states: KeyState[] = [];
  let previous: string | null = null;
  for (const row of decoded[2] as unknown[]) {
    const state = stateOf(row, 0);
    if (previous !== null && !(previous < state.key)) malformed("rows not sorted by key");
    previous = state.key;
    states.push(state);
  }
  return { appliedIndex, states };
}
