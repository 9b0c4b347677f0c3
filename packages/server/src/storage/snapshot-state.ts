// What a snapshot's records mean to the host: the lock table (one record per lock key) and the
// members record. Every HostStorage of the server writes and reads its snapshots through these,
// so a snapshot from one kind of store installs on another.
import { LOCK_RANGE, META_MEMBERS, lockKey, lockKeyName } from "./keys.js";
import { decodeMembers, encodeMembers } from "./members-record.js";
import type { ClusterMembers } from "./members-record.js";
import type { SnapshotContents } from "./host-storage.js";
import type { SnapshotBytes } from "@dlock/raft";
import { SnapshotEncoder, findSnapshotRecord, snapshotRecords } from "./snapshot-format.js";
import type { RecordSpan } from "./snapshot-format.js";
import { SnapshotRecordReader } from "./snapshot-record-reader.js";

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
 * event loop for seconds (and missing the leader's heartbeats meanwhile). The bytes are read a
 * window at a time (a staged snapshot is a file); `onMembers` gets the members record on the way.
 */
export async function* snapshotLockValueChunks(
  data: SnapshotBytes,
  stepRecords: number = RESTORE_STEP_RECORDS,
  onMembers?: (members: ClusterMembers) => void,
): AsyncGenerator<Uint8Array[]> {
  const reader = new SnapshotRecordReader(data);
  let chunk: Uint8Array[] = [];
  const push = (buf: Buffer, span: Readonly<RecordSpan>): void => {
    const { keyAt, keyEnd } = span;
    if (keyEnd > keyAt && buf[keyAt] === LOCK_RANGE.gte[0])
      chunk.push(buf.subarray(span.valueAt, span.valueEnd));
    else if (onMembers && buf.compare(META_MEMBERS, 0, META_MEMBERS.length, keyAt, keyEnd) === 0)
      onMembers(decodeMembers(buf.subarray(span.valueAt, span.valueEnd)));
  };
  for (;;) {
    // At most a piece's room of records per walk: the other records do not fill it.
    const more = reader.walk(stepRecords - chunk.length, push);
    if (more && chunk.length < stepRecords) continue;
    if (chunk.length > 0) yield chunk;
    if (!more) return;
    chunk = [];
    await nextTurn();
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
