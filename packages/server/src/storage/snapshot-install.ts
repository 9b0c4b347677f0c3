// A snapshot's lock table written to LevelDB in bounded batches. One batch of the whole table (a
// million records at once) held ~90 MB of memtable plus the batch in native memory on a wiped
// follower, over 512 MiB in all, and stalled its event loop for ~70 ms. In batches the install is
// no longer atomic, so a marker says it is under way: written before the first batch, removed by
// the batch that switches to the snapshot. A node that opens a folder with the marker redoes the
// install from the snapshot file the marker names (written and synced before the marker), so it
// never serves a half-installed table.
import type { Level } from "level";
import type { SnapshotBytes } from "@dlock/raft";
import {
  ENTRY_RANGE,
  LOCK_RANGE,
  META_APPLIED_INDEX,
  META_HARD_STATE,
  META_INSTALLING,
  META_MEMBERS,
  META_SNAPSHOT_METADATA,
} from "./keys.js";
import { decodeMembers, encodeMembers } from "./members-record.js";
import type { ClusterMembers } from "./members-record.js";
import {
  decodeHardState,
  decodeSnapshotRecord,
  encodeHardState,
  encodeJson,
  encodeUint64,
} from "./codec.js";
import type { SnapshotRecord } from "./codec.js";
import { StorageError } from "./errors.js";
import type { RecordSpan } from "./snapshot-format.js";
import { SnapshotRecordReader } from "./snapshot-record-reader.js";
import type { SnapshotFiles } from "./snapshot-files.js";
import { nextTurn } from "./snapshot-state.js";

type Db = Level<Buffer, Buffer>;
type Batch = ReturnType<Db["batch"]>;

/** Lock records per batch of an install (~200 KiB at a million locks' record sizes). */
export const INSTALL_BATCH_RECORDS = 2048;

/** How an install reaches LevelDB: the storage's own write path (fault injection, failure state). */
export interface InstallTarget {
  batch(): Batch;
  /** Writes `batch` unsynced: the batch that switches to the snapshot syncs them all. */
  commit(batch: Batch): Promise<void>;
  /** Deletes every record in `range`. */
  clear(range: { gte: Buffer; lt: Buffer }): Promise<void>;
}

/**
 * The members record of a snapshot whose records can be installed: lock records and one members
 * record, nothing else. Checked before anything is written, a step at a time.
 */
export async function installableMembers(data: SnapshotBytes): Promise<ClusterMembers> {
  let members: ClusterMembers | null = null;
  const check = (buf: Buffer, span: Readonly<RecordSpan>): void => {
    const { keyAt, keyEnd } = span;
    // The lock prefix first: a Buffer.compare per record made this walk ~3x as costly (82 against
    // 27 ms of CPU at a million records), in turns that the state machine's decoding shares.
    if (keyEnd > keyAt && buf[keyAt] === LOCK_RANGE.gte[0]) return;
    if (buf.compare(META_MEMBERS, 0, META_MEMBERS.length, keyAt, keyEnd) === 0)
      members = decodeMembers(buf.subarray(span.valueAt, span.valueEnd));
    else throw new StorageError("INVALID_WRITE", "snapshot holds a record outside the lock table");
  };
  // No view outlives its visit (the members are decoded): one window serves every read.
  const reader = new SnapshotRecordReader(data, undefined, { reuseWindow: true });
  while (reader.walk(INSTALL_BATCH_RECORDS * 8, check)) await nextTurn();
  if (members === null) throw new StorageError("INVALID_WRITE", "snapshot has no members record");
  return members;
}

/**
 * Writes the marker for `record`, deletes the stored lock table and writes the snapshot's lock
 * records in batches of INSTALL_BATCH_RECORDS, with a turn of the event loop between batches.
 * The caller's switching batch then writes `record`, the applied index and the members, and
 * deletes the marker (META_INSTALLING). `data` must have passed installableMembers().
 */
export async function writeSnapshotTable(
  target: InstallTarget,
  record: SnapshotRecord,
  data: SnapshotBytes,
): Promise<void> {
  await target.commit(target.batch().put(META_INSTALLING, encodeJson(record)));
  await target.clear(LOCK_RANGE);
  let batch = target.batch();
  const put = (buf: Buffer, span: Readonly<RecordSpan>): void => {
    if (span.keyEnd === span.keyAt || buf[span.keyAt] !== LOCK_RANGE.gte[0]) return;
    // The batch copies what it is given (into LevelDB's batch, at once): views into the reused
    // window do.
    batch.put(buf.subarray(span.keyAt, span.keyEnd), buf.subarray(span.valueAt, span.valueEnd));
  };
  const reader = new SnapshotRecordReader(data, undefined, { reuseWindow: true });
  for (;;) {
    // At most a batch's room of records per walk: the other records do not fill it.
    const more = reader.walk(INSTALL_BATCH_RECORDS - batch.length, put);
    if (!more) break;
    if (batch.length < INSTALL_BATCH_RECORDS) continue;
    await target.commit(batch);
    batch = target.batch();
    await nextTurn();
  }
  if (batch.length > 0) await target.commit(batch);
  else await batch.close();
}

/**
 * Adds to the batch that switches to an installed snapshot what makes it whole: the snapshot
 * record, the applied index, the members, and the marker's removal.
 */
export function switchToInstalled(
  batch: Batch,
  record: SnapshotRecord,
  members: ClusterMembers,
): void {
  batch.put(META_SNAPSHOT_METADATA, encodeJson(record));
  batch.put(META_APPLIED_INDEX, encodeUint64(record.metadata.index));
  batch.put(META_MEMBERS, encodeMembers(members));
  batch.del(META_INSTALLING);
}

/**
 * Finishes an install a crash cut short, if the marker says one was under way: the table again
 * from the snapshot file, the whole log dropped (the snapshot replaced it; what came after it was
 * in the switching batch, never written), then one synced batch with the snapshot record, the
 * applied index, the members and a hard state whose term is at least the snapshot's, which
 * removes the marker. Returns the snapshot index, or null when no install was under way.
 */
export async function finishInterruptedInstall(
  db: Db,
  files: SnapshotFiles,
  dataDir: string,
  fsync: boolean,
): Promise<number | null> {
  const markerBytes = await db.get(META_INSTALLING);
  if (markerBytes === undefined) return null;
  const record = decodeSnapshotRecord(markerBytes);
  const { index, term } = record.metadata;
  const [hardBytes] = await db.getMany([META_HARD_STATE]);
  if (record.file === null || hardBytes === undefined) {
    throw new StorageError(
      "CORRUPT",
      `data folder ${dataDir}: an unfinished install names no file`,
    );
  }
  let data: SnapshotBytes;
  try {
    const checked = await files.check(record.file, { index, term });
    if ("problem" in checked) throw new Error(checked.problem);
    // Read from the file a window at a time, as a leader's snapshot is installed.
    data = checked.bytes;
  } catch (cause) {
    throw new StorageError(
      "CORRUPT",
      `data folder ${dataDir}: the snapshot file ${record.file} of an unfinished install cannot be read`,
      { cause },
    );
  }
  const members = await installableMembers(data);
  await writeSnapshotTable(
    {
      batch: () => db.batch(),
      commit: (batch) => batch.write({ sync: false }),
      clear: (range) => db.clear(range),
    },
    record,
    data,
  );
  await db.clear(ENTRY_RANGE);
  const hardState = decodeHardState(hardBytes);
  if (hardState.term < term) Object.assign(hardState, { term, vote: null });
  hardState.commit = Math.max(hardState.commit, index);
  const batch = db.batch().put(META_HARD_STATE, encodeHardState(hardState));
  switchToInstalled(batch, record, members);
  await batch.write({ sync: fsync });
  return index;
}
