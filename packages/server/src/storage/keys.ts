import { encodeUint64 } from "./codec.js";

// One LevelDB keyspace, split by a one-byte prefix so each kind of record is a contiguous range:
//   "e" + uint64 BE index  → Raft log entry (byte order = index order, so ranges are index ranges)
//   "l" + utf8 key         → lock table record (opaque bytes from the state machine)
//   "m" + name             → singletons: identity, hard state, applied index, members, snapshot
// Snapshot bytes live in files next to the database (snapshot-files.ts); LevelDB holds their
// metadata.

const PREFIX_ENTRY = 0x65; // "e"
const PREFIX_LOCK = 0x6c; // "l"

export const ENTRY_RANGE = {
  gte: Buffer.from([PREFIX_ENTRY]),
  lt: Buffer.from([PREFIX_ENTRY + 1]),
};
export const LOCK_RANGE = { gte: Buffer.from([PREFIX_LOCK]), lt: Buffer.from([PREFIX_LOCK + 1]) };

export const META_IDENTITY = Buffer.from("m:identity");
export const META_HARD_STATE = Buffer.from("m:hardState");
export const META_APPLIED_INDEX = Buffer.from("m:appliedIndex");
export const META_SNAPSHOT_METADATA = Buffer.from("m:snapshotMetadata");
/** The members record (ClusterMembers) as of the applied index; also a record of snapshots. */
export const META_MEMBERS = Buffer.from("m:members");

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = PREFIX_ENTRY;
  encodeUint64(index).copy(key, 1);
  return key;
}

export function lockKey(key: string): Buffer {
  const bytes = Buffer.from(key, "utf8");
  const out = Buffer.allocUnsafe(1 + bytes.length);
  out[0] = PREFIX_LOCK;
  bytes.copy(out, 1);
  return out;
}

export function lockKeyName(storedKey: Uint8Array): string {
  return Buffer.from(storedKey.buffer, storedKey.byteOffset + 1, storedKey.length - 1).toString(
    "utf8",
  );
}

/**
 * A snapshot install under way (format 3): the SnapshotRecord (JSON) being installed, whose file
 * is on disk. Present at open, the install is redone from that file (snapshot-install.ts).
 */
export const META_INSTALLING = Buffer.from("m:installing");

/** The data folder's format version (uint64 BE); see data-format.ts. */
export const META_FORMAT_VERSION = Buffer.from("m:formatVersion");

/** This data folder's id (utf8), made once when the folder is first opened; see peer-data-ids.ts. */
export const META_DATA_ID = Buffer.from("m:dataId");

/** The data folder id a peer last showed in its hello (utf8). */
export function peerDataIdKey(nodeId: string): Buffer {
  return Buffer.from(`m:peerDataId:${nodeId}`, "utf8");
}
