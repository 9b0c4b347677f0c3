import { packr, str, uint } from "./codec.js";
import { LockError } from "./errors.js";
import type { PermitHolder, PermitWaiter, SemaphoreState } from "./semaphore-state.js";

// Persistent format of a semaphore key: [SEMAPHORE_RECORD_FORMAT, key, permits, holders, waiters],
// a holder [value, token, leaseRevision, ttlMs, count], a waiter
// [value, waiterId, waiterRevision, ttlMs, waitMs, requestId, count]. The exclusive lock records
// are 10-field arrays starting with format 1, so the first two bytes tell the kinds apart.
const SEMAPHORE_RECORD_FORMAT = 2;
const SEMAPHORE_RECORD_HEAD = [0x95, SEMAPHORE_RECORD_FORMAT] as const;

// A snapshot holding semaphores is [SEMAPHORE_SNAPSHOT_FORMAT, lockSnapshot, rows] with the
// exclusive lock table's own snapshot bytes inside and rows sorted by key; a table without
// semaphores keeps the lock snapshot's bytes unchanged.
const SEMAPHORE_SNAPSHOT_FORMAT = 2;

function malformed(message: string): never {
  throw new LockError("MALFORMED", `malformed semaphore data: ${message}`);
}

function rowOf(s: SemaphoreState): unknown[] {
  return [
    s.key,
    s.permits,
    s.holders.map((h) => [h.value, h.token, h.leaseRevision, h.ttlMs, h.count]),
    s.waiters.map((w) => [
      w.value,
      w.waiterId,
      w.waiterRevision,
      w.ttlMs,
      w.waitMs,
      w.requestId,
      w.count,
    ]),
  ];
}

function stateOf(row: unknown[], offset: number): SemaphoreState {
  if (row.length !== offset + 4) malformed("row is not a 4-field array");
  const key = str(row[offset], "key");
  const permits = uint(row[offset + 1], "permits");
  const rawHolders = row[offset + 2];
  const rawWaiters = row[offset + 3];
  if (!Array.isArray(rawHolders) || !Array.isArray(rawWaiters))
    malformed("holders and waiters must be arrays");
  const holders: PermitHolder[] = (rawHolders as unknown[]).map((raw) => {
    if (!Array.isArray(raw) || raw.length !== 5) malformed("holder is not a 5-field array");
    const h = raw as unknown[];
    return {
      value: str(h[0], "holder.value"),
      token: uint(h[1], "holder.token"),
      leaseRevision: uint(h[2], "holder.leaseRevision"),
      ttlMs: uint(h[3], "holder.ttlMs"),
      count: uint(h[4], "holder.count"),
    };
  });
  const waiters: PermitWaiter[] = (rawWaiters as unknown[]).map((raw) => {
    if (!Array.isArray(raw) || raw.length !== 7) malformed("waiter is not a 7-field array");
    const w = raw as unknown[];
    return {
      value: str(w[0], "waiter.value"),
      waiterId: uint(w[1], "waiter.waiterId"),
      waiterRevision: uint(w[2], "waiter.waiterRevision"),
      ttlMs: uint(w[3], "waiter.ttlMs"),
      waitMs: uint(w[4], "waiter.waitMs"),
      requestId: uint(w[5], "waiter.requestId"),
      count: uint(w[6], "waiter.count"),
    };
  });
  let held = 0;
  for (const h of holders) held += h.count;
  const state: SemaphoreState = { key, permits, held, holders, waiters };
  checkSemaphoreState(state);
  return state;
}

/** Rejects a decoded record that breaks the SemaphoreState invariants. */
function checkSemaphoreState(s: SemaphoreState): void {
  if (s.permits < 1) malformed(`${s.key}: permits must be ≥ 1`);
  if (s.holders.length === 0) malformed(`${s.key}: no holders`);
  if (s.held > s.permits) malformed(`${s.key}: more permits held than exist`);
  const seen = new Set<string>();
  for (const h of s.holders) {
    if (h.count < 1 || h.token < 1 || h.leaseRevision < h.token) malformed(`${s.key}: bad holder`);
    if (seen.has(h.value)) malformed(`${s.key}: duplicate value`);
    seen.add(h.value);
  }
  let previousId = 0;
  for (const w of s.waiters) {
    if (w.count < 1 || w.count > s.permits) malformed(`${s.key}: bad waiter count`);
    if (seen.has(w.value)) malformed(`${s.key}: duplicate value`);
    if (w.waiterId <= previousId || w.waiterRevision < w.waiterId)
      malformed(`${s.key}: waiters out of order`);
    seen.add(w.value);
    previousId = w.waiterId;
  }
  const head = s.waiters[0];
  if (head !== undefined && head.count <= s.permits - s.held)
    malformed(`${s.key}: the head waiter fits but was not granted`);
}

/** Whether a stored record is a semaphore's (else it is an exclusive lock's). */
export function isSemaphoreRecord(bytes: Uint8Array): boolean {
  return bytes[0] === SEMAPHORE_RECORD_HEAD[0] && bytes[1] === SEMAPHORE_RECORD_HEAD[1];
}

export function encodeSemaphoreRecord(state: SemaphoreState): Uint8Array {
  const row = rowOf(state);
  row.unshift(SEMAPHORE_RECORD_FORMAT);
  return packr.pack(row);
}

export function decodeSemaphoreRecord(bytes: Uint8Array): SemaphoreState {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch {
    malformed("record is not msgpack");
  }
  if (!Array.isArray(decoded) || decoded[0] !== SEMAPHORE_RECORD_FORMAT)
    malformed("unknown record format");
  return stateOf(decoded as unknown[], 1);
}

/** Whether snapshot bytes carry semaphores (else they are a plain lock-table snapshot). */
export function isSemaphoreSnapshot(bytes: Uint8Array): boolean {
  return bytes[0] === 0x93 && bytes[1] === SEMAPHORE_SNAPSHOT_FORMAT;
}

/** States must be sorted by key by the caller (the snapshot's determinism depends on it). */
export function encodeSemaphoreSnapshot(
  lockSnapshot: Uint8Array,
  sortedStates: SemaphoreState[],
): Uint8Array {
  return packr.pack([SEMAPHORE_SNAPSHOT_FORMAT, lockSnapshot, sortedStates.map(rowOf)]);
}

export function decodeSemaphoreSnapshot(bytes: Uint8Array): {
  lockSnapshot: Uint8Array;
  states: SemaphoreState[];
} {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch {
    malformed("snapshot is not msgpack");
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 3 ||
    decoded[0] !== SEMAPHORE_SNAPSHOT_FORMAT ||
    !(decoded[1] instanceof Uint8Array) ||
    !Array.isArray(decoded[2])
  )
    malformed("unknown snapshot format");
  const states: SemaphoreState[] = [];
  let previous: string | null = null;
  for (const row of decoded[2] as unknown[]) {
    if (!Array.isArray(row)) malformed("row is not an array");
    const state = stateOf(row as unknown[], 0);
    if (previous !== null && !(previous < state.key)) malformed("rows not sorted by key");
    previous = state.key;
    states.push(state);
  }
  return { lockSnapshot: decoded[1] as Uint8Array, states };
}
