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
import { isLimitsRecord } from "../lock/limits-codec.js";
import { storedRecordTokenMax } from "../lock/stored-record.js";
import { StorageError } from "./errors.js";
import type { ClusterMembers } from "./members-record.js";
import { SnapshotScan } from "./snapshot-format.js";
import type { StateExport } from "./state-export.js";

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

/** What the saving node says about a backup, beside what the state holds. */
export interface BackupAbout {
  clusterId: string;
  savedBy: string;
  savedAt: string;
}

/**
 * A backup file ready to be sent, whose body is dumped from the exported state as it is written:
 * nothing holds the whole of it.
 */
export interface BackupStream {
  header: BackupHeader;
  /** Bytes of the whole file (head, snapshot, trailer). */
  byteLength: number;
  /** Hands the file's bytes to `sink` in order, awaiting each call (the sink sets the pace). */
  writeTo(sink: (bytes: Uint8Array) => Promise<void>): Promise<void>;
  /** Releases the exported state; call it once the file was written or will not be. */
  close(): Promise<void>;
}

/**
 * The backup of `state`: a first dump sizes and summarises it (the header, which comes before
 * the snapshot, holds its size, record count and highest token), and writeTo() dumps it again
 * into the file, hashing as it goes. Both dumps read the same LevelDB snapshot.
 */
export async function backupOf(state: StateExport, about: BackupAbout): Promise<BackupStream> {
  let snapshotBytes = 0;
  let records = 0;
  let maxFencingToken = 0;
  const members = await state.dump(
    async (pieces) => {
      for (const piece of pieces) snapshotBytes += piece.length;
    },
    (_key, value) => {
      // Keys, not the table-limits record stored beside them.
      if (isLimitsRecord(value)) return;
      records++;
      maxFencingToken = Math.max(maxFencingToken, storedRecordTokenMax(value));
    },
  );
  const header: BackupHeader = {
    clusterId: about.clusterId,
    index: state.index,
    term: state.term,
    members,
    maxFencingToken,
    records,
    snapshotBytes,
    savedBy: about.savedBy,
    savedAt: about.savedAt,
  };
  const head = Buffer.from(`${BACKUP_MAGIC}${JSON.stringify(header)}\n`, "utf8");
  return {
    header,
    byteLength: head.length + snapshotBytes + TRAILER_BYTES,
    async writeTo(sink) {
      const hash: Hash = createHash("sha256").update(head);
      await sink(head);
      let sent = 0;
      await state.dump(async (pieces) => {
        for (const piece of pieces) {
          sent += piece.length;
          if (sent > snapshotBytes) break;
          hash.update(piece);
          await sink(piece);
        }
      });
      // A LevelDB snapshot reads the same each time; a difference is a bug, not a backup.
      if (sent !== snapshotBytes) {
        throw new StorageError(
          "CORRUPT",
          `the second dump of the state is ${sent} bytes, the first was ${snapshotBytes}`,
        );
      }
      await sink(Buffer.from(`${TRAILER_PREFIX}${hash.digest("hex")}\n`, "latin1"));
    },
    close: () => state.close(),
  };
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
  const scan = new BackupScan(file.length);
  scan.update(file);
  const header = scan.finish();
  const snapshotAt = file.length - TRAILER_BYTES - header.snapshotBytes;
  return { header, snapshot: file.subarray(snapshotAt, snapshotAt + header.snapshotBytes) };
}

/**
 * readBackup()'s checks over a file read a piece at a time, of any size (a download as it is
 * written, a file read in chunks): nothing is kept but the header line, the trailer and a few
 * bytes of a snapshot field cut between two pieces. `totalBytes` is the size of the whole file.
 */
export class BackupScan {
  private readonly totalBytes: number;
  private readonly trailerAt: number;
  private readonly hash: Hash = createHash("sha256");
  private readonly trailer = Buffer.alloc(TRAILER_BYTES);
  private seen = 0;
  /** The bytes from the start until the header line is complete; null after. */
  private prefix: Buffer[] | null = [];
  private prefixBytes = 0;
  private header: BackupHeader | null = null;
  private snapshot: SnapshotScan | null = null;
  private problem: string | null = null;

  constructor(totalBytes: number) {
    this.totalBytes = totalBytes;
    this.trailerAt = totalBytes - TRAILER_BYTES;
    if (totalBytes < BACKUP_MAGIC.length + TRAILER_BYTES) {
      this.problem = "unknown format (no DLOCKBACKUP header)";
    }
  }

  update(piece: Uint8Array): void {
    const pieceAt = this.seen;
    this.seen += piece.length;
    if (this.seen > this.totalBytes) throw new Error("backup scan got more bytes than announced");
    if (this.problem !== null) return;
    const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.length);
    const bodyEnd = Math.max(0, Math.min(bytes.length, this.trailerAt - pieceAt));
    if (bodyEnd < bytes.length)
      bytes.copy(this.trailer, Math.max(0, pieceAt - this.trailerAt), bodyEnd);
    const before = bytes.subarray(0, bodyEnd);
    this.hash.update(before);
    if (this.prefix === null) this.snapshot?.update(before);
    else this.takePrefix(before);
  }

  /** The verified header once every byte was passed; StorageError CORRUPT says what is wrong. */
  finish(): BackupHeader {
    if (this.seen !== this.totalBytes) throw new Error("backup scan has not seen every byte");
    if (this.problem !== null) refused(this.problem);
    const trailer = this.trailer.toString("latin1");
    if (!trailer.startsWith(TRAILER_PREFIX) || !trailer.endsWith("\n"))
      refused("no sha256 trailer");
    const stored = trailer.slice(TRAILER_PREFIX.length, -1);
    const actual = this.hash.digest("hex");
    if (stored !== actual) refused(`checksum mismatch (stored ${stored}, computed ${actual})`);
    const { header, snapshot } = this;
    if (header === null || snapshot === null) return refused("header line missing");
    const problem = snapshot.problem();
    if (problem !== null) refused(`snapshot: ${problem}`);
    return header;
  }

  /** Gathers the magic and the header line, then hands what follows to the snapshot scan. */
  private takePrefix(bytes: Buffer): void {
    if (this.prefix === null || bytes.length === 0) return;
    this.prefix.push(bytes);
    this.prefixBytes += bytes.length;
    const magic = Buffer.from(BACKUP_MAGIC, "latin1");
    const gathered = Buffer.concat(this.prefix);
    this.prefix = [gathered];
    const bodyAt = this.trailerAt;
    if (gathered.length < magic.length) return;
    if (!gathered.subarray(0, magic.length).equals(magic)) {
      this.stop("unknown format (no DLOCKBACKUP header)");
      return;
    }
    const lineEnd = gathered.indexOf(0x0a, magic.length);
    if (lineEnd < 0) {
      if (this.prefixBytes - magic.length > HEADER_BYTES_MAX || this.prefixBytes === bodyAt) {
        this.stop("header line missing");
      }
      return;
    }
    if (lineEnd - magic.length > HEADER_BYTES_MAX) {
      this.stop("header line missing");
      return;
    }
    let header: BackupHeader;
    try {
      header = JSON.parse(
        gathered.subarray(magic.length, lineEnd).toString("utf8"),
      ) as BackupHeader;
    } catch {
      this.stop("header is not JSON");
      return;
    }
    const snapshotLength = bodyAt - (lineEnd + 1);
    if (snapshotLength !== header.snapshotBytes) {
      this.stop(`snapshot is ${snapshotLength} bytes, header says ${header.snapshotBytes}`);
      return;
    }
    this.header = header;
    this.prefix = null;
    this.snapshot = new SnapshotScan(snapshotLength, { index: header.index, term: header.term });
    this.snapshot.update(gathered.subarray(lineEnd + 1));
  }

  private stop(problem: string): void {
    this.problem = problem;
    this.prefix = null;
  }
}
