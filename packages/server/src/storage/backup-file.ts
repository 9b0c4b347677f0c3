// The file `dlock snapshot save` writes and `dlock snapshot restore` reads: the replicated state
// at one applied index (the same bytes as a Raft snapshot, see snapshot-format.ts) between a
// readable header and a SHA-256 of everything before it, so a copy damaged anywhere (on disk, on
// the way to object storage) is refused before a single record is installed.
//
//   "DLOCKBACKUP 1\n"
//   header   one line of JSON (BackupHeader) + "\n"
//   body     snapshot bytes (snapshotBytes of them)
//   trailer  "sha256 " + 64 hex digits + "\n"    (of every byte before the trailer)
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { LIMITS_RECORD_KEY } from "../lock/limits-codec.js";
import { storedRecordTokenMax } from "../lock/stored-record.js";
import { StorageError } from "./errors.js";
import type { ClusterMembers } from "./members-record.js";
import { readSnapshotHeader, snapshotProblem } from "./snapshot-format.js";
import { snapshotContents } from "./snapshot-state.js";

export const BACKUP_MAGIC = "DLOCKBACKUP 1\n";
const TRAILER_PREFIX = "sha256 ";
/** "sha256 " + 64 hex digits + "\n". */
const TRAILER_BYTES = TRAILER_PREFIX.length + 64 + 1;
/** A header line longer than this is not ours (it holds a members list, not the table). */
const HEADER_BYTES_MAX = 1024 * 1024;

export interface BackupHeader {
  clusterId: string;
  /** Applied index and term the state is at. */
  index: number;
  term: number;
  /** The members of the saved cluster (a restore names its own). */
  members: ClusterMembers;
  /** Highest fencing token held in the saved table (0 when none): restored tokens stay below. */
  maxFencingToken: number;
  /** Keys of the lock table (held, queued on or in lock delay; the limits record not counted). */
  records: number;
  snapshotBytes: number;
  /** The saving node, and when (ISO time, for the operator only). */
  savedBy: string;
  savedAt: string;
}

/** The header and the two byte pieces around the snapshot, to be sent or written in order. */
export interface BackupPieces {
  header: BackupHeader;
  head: Buffer;
  body: Uint8Array;
  trailer: Buffer;
}

/** The highest fencing token among the lock records of snapshot bytes. */
export function maxFencingTokenOf(records: Iterable<readonly [string, Uint8Array]>): number {
  let max = 0;
  for (const [, record] of records) max = Math.max(max, storedRecordTokenMax(record));
  return max;
}

/** Wraps snapshot bytes (well formed) into the pieces of a backup file. */
export function backupPieces(
  snapshot: Uint8Array,
  about: { clusterId: string; members: ClusterMembers; savedBy: string; savedAt: string },
): BackupPieces {
  const { index, term } = readSnapshotHeader(snapshot);
  const { records } = snapshotContents(snapshot);
  const header: BackupHeader = {
    clusterId: about.clusterId,
    index,
    term,
    members: about.members,
    maxFencingToken: maxFencingTokenOf(records),
    // Keys, not the table-limits record stored beside them.
    records: records.filter(([key]) => key !== LIMITS_RECORD_KEY).length,
    snapshotBytes: snapshot.length,
    savedBy: about.savedBy,
    savedAt: about.savedAt,
  };
  const head = Buffer.from(`${BACKUP_MAGIC}${JSON.stringify(header)}\n`, "utf8");
  const hash: Hash = createHash("sha256").update(head).update(snapshot);
  const trailer = Buffer.from(`${TRAILER_PREFIX}${hash.digest("hex")}\n`, "latin1");
  return { header, head, body: snapshot, trailer };
}

/** A verified backup: its header and the snapshot bytes (a view into the file's bytes). */
export interface BackupContents {
  header: BackupHeader;
  snapshot: Uint8Array;
}

function refused(message: string): never {
  throw new StorageError(
    "CORRUPT",
    `${message}: the file is not a complete dlock backup; save a new one (dlock snapshot save)`,
  );
}

/**
 * Checks a whole backup file (magic, SHA-256, snapshot structure and CRC, header against the
 * snapshot) and returns its contents; StorageError CORRUPT says what is wrong.
 */
export function readBackup(file: Uint8Array): BackupContents {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.length);
  const magic = Buffer.from(BACKUP_MAGIC, "latin1");
  if (
    bytes.length < magic.length + TRAILER_BYTES ||
    !bytes.subarray(0, magic.length).equals(magic)
  ) {
    refused("unknown format (no DLOCKBACKUP header)");
  }
  const trailerAt = bytes.length - TRAILER_BYTES;
  const trailer = bytes.subarray(trailerAt).toString("latin1");
  if (!trailer.startsWith(TRAILER_PREFIX) || !trailer.endsWith("\n")) refused("no sha256 trailer");
  const stored = trailer.slice(TRAILER_PREFIX.length, -1);
  const actual = createHash("sha256").update(bytes.subarray(0, trailerAt)).digest("hex");
  if (stored !== actual) refused(`checksum mismatch (stored ${stored}, computed ${actual})`);
  const lineEnd = bytes.indexOf(0x0a, magic.length);
  if (lineEnd < 0 || lineEnd - magic.length > HEADER_BYTES_MAX) refused("header line missing");
  let header: BackupHeader;
  try {
    header = JSON.parse(bytes.subarray(magic.length, lineEnd).toString("utf8")) as BackupHeader;
  } catch {
    return refused("header is not JSON");
  }
  const snapshot = bytes.subarray(lineEnd + 1, trailerAt);
  if (snapshot.length !== header.snapshotBytes) {
    refused(`snapshot is ${snapshot.length} bytes, header says ${header.snapshotBytes}`);
  }
  const problem = snapshotProblem(snapshot, { index: header.index, term: header.term });
  if (problem !== null) refused(`snapshot: ${problem}`);
  return { header, snapshot };
}
