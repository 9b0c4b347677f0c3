import { CodedError } from "@dlock/protocol";

/** Stable codes of the storage errors. */
export type StorageErrorCode =
  /**
   * A write (or fsync) failed: disk full, I/O error. The storage is failing until a write
   * succeeds; the same batch may be written again.
   */
  | "WRITE_FAILED"
  /** The data folder could not be opened (locked by another process, unreadable, corrupt). */
  | "OPEN_FAILED"
  /** The data folder belongs to another cluster. */
  | "CLUSTER_MISMATCH"
  /** The data folder belongs to another node of this cluster. */
  | "NODE_MISMATCH"
  /** A stored record could not be decoded (unknown format version or truncated bytes). */
  | "CORRUPT"
  /** A compaction could not write its snapshot; the storage stays healthy and retries later. */
  | "COMPACTION_FAILED"
  /** The caller broke the write contract (non-contiguous entries, applied index going backwards). */
  | "INVALID_WRITE"
  /** The storage is closed. */
  | "CLOSED"
  /** A restore was pointed at a data folder that already holds data (restore seeds new ones). */
  | "DATA_EXISTS"
  /** A restore's own arguments do not fit (this node not among the members, an empty backup). */
  | "RESTORE_REFUSED"
  /**
   * The data folder's format is newer than this binary reads (written by a later dlock) or older
   * than any release; the message names the versions this binary supports.
   */
  | "FORMAT_UNSUPPORTED";

export class StorageError extends CodedError<StorageErrorCode> {
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "StorageError";
  }
}
