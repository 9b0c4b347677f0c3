// What a snapshot's records mean to the host: the lock table (one record per lock key) and the
// members record. Every HostStorage of the server writes and reads its snapshots through these,
// so a snapshot from one kind of store installs on another.
import { LOCK_RANGE, META_MEMBERS, lockKey, lockKeyName } from "./keys.js";
import { decodeMembers, encodeMembers } from "./members-record.js";
import type { ClusterMembers } from "./members-record.js";
import type { SnapshotContents } from "./host-storage.js";
import {
  SnapshotEncoder,
  findSnapshotRecord,
  snapshotRecords,
  snapshotValuesFrom,
} from "./snapshot-format.js";

/** The lock records (by lock key) and the members record of a snapshot that is well formed. */
export function snapshotContents(data: Uint8Array): SnapshotContents {
  const records: Array<[string, Uint8Array]> = [];
  let members: ClusterMembers | null = null;
  for (const [key, value] of snapshotRecords(data)) {
    if (key.equals(META_MEMBERS)) members = decodeMembers(value);
    else if (key[0] === LOCK_RANGE.gte[0]) records.push([lockKeyName(key), value]);
  }
  return { records, members };
}

/**
 * Lock records read from a snapshot between two turns of the event loop: decoding them into the
 * table takes a few milliseconds (4,096 took 10 to 30 ms on a loaded machine).
 */
const RESTORE_STEP_RECORDS = 1024;

/**
 * The lock records' values of a well-formed snapshot, a piece at a time with a turn of the event
 * loop between pieces: a follower installing a million records decodes them without holding the
 * event loop for seconds (and missing the leader's heartbeats meanwhile).
 */
export async function* snapshotLockValueChunks(
  data: Uint8Array,
  stepRecords: number = RESTORE_STEP_RECORDS,
): AsyncGenerator<Uint8Array[]> {
  for (let at = 0; at !== -1;) {
    const chunk: Uint8Array[] = [];
    at = snapshotValuesFrom(data, at, LOCK_RANGE.gte[0]!, stepRecords, chunk);
    if (chunk.length === 0) return;
    yield chunk;
    if (at !== -1) await nextTurn();
  }
}

/** The members record of a well-formed snapshot (null if it has none), without the lock records. */
export function snapshotMembers(data: Uint8Array): ClusterMembers | null {
  const value = findSnapshotRecord(data, META_MEMBERS);
  return value === null ? null : decodeMembers(value);
}

/** Lets the event loop run (timers, sockets) before going on. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The bytes of a snapshot at (index, term) holding `records` and `members`, in LevelDB's key
 * order as LevelStorage dumps them.
 */
export function encodeStateSnapshot(
  index: number,
  term: number,
  records: Iterable<readonly [string, Uint8Array]>,
  members: ClusterMembers,
): Buffer {
  const encoder = new SnapshotEncoder(index, term);
  for (const [key, value] of inKeyOrder(records)) encoder.add(lockKey(key), value);
  encoder.add(META_MEMBERS, encodeMembers(members));
  return encoder.finish();
}

/** Lock records in the order LevelDB keeps them: by the UTF-8 bytes of their keys. */
export function inKeyOrder(
  records: Iterable<readonly [string, Uint8Array]>,
): Array<[string, Uint8Array]> {
  const keyed = [...records].map(([key, value]) => ({ key, value, bytes: Buffer.from(key) }));
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return keyed.map(({ key, value }) => [key, value]);
}
