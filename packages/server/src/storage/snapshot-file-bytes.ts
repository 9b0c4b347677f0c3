// A node's current snapshot stays in its file: the Raft core asks for its size and, only while
// it sends the snapshot to a follower, for one chunk at a time. Holding the bytes instead cost
// their whole size in memory for good (86 MiB at a million locks), and twice that during each
// compaction.
import { closeSync, openSync, readSync } from "node:fs";
import type { Snapshot, SnapshotBytes, StoredSnapshot } from "@dlock/raft";
import { StorageError } from "./errors.js";

export class SnapshotFileBytes implements SnapshotBytes {
  readonly path: string;
  readonly byteLength: number;

  /** `byteLength` is the file's size, whose bytes were checked when written or opened. */
  constructor(path: string, byteLength: number) {
    this.path = path;
    this.byteLength = byteLength;
  }

  /**
   * Reads [begin, end) synchronously, as the core's Storage contract is: a chunk (512 KiB by
   * default) of a file that was just written or read is a copy from the page cache.
   */
  subarray(begin: number, end: number): Buffer {
    this.checkRange(begin, end);
    return this.readInto(Buffer.allocUnsafe(end - begin), begin);
  }

  /**
   * Reads `target.length` bytes from `begin` into `target` and returns it: a reader that walks the
   * whole file reuses one buffer instead of allocating a megabyte per read.
   */
  readInto(target: Buffer, begin: number): Buffer {
    this.checkRange(begin, begin + target.length);
    let fd: number | null = null;
    try {
      fd = this.openForRead();
      let at = 0;
      while (at < target.length) {
        const read = readSync(fd, target, at, target.length - at, begin + at);
        if (read === 0) throw new Error(`the file ends at byte ${begin + at}`);
        at += read;
      }
    } catch (cause) {
      throw new StorageError("CORRUPT", `snapshot file ${this.path} cannot be read`, { cause });
    } finally {
      if (fd !== null) this.doneReading(fd);
    }
    return target;
  }

  /** A descriptor to read from, given back to doneReading(): the file opened for this read. */
  protected openForRead(): number {
    return openSync(this.path, "r");
  }

  protected doneReading(fd: number): void {
    closeSync(fd);
  }

  private checkRange(begin: number, end: number): void {
    if (!(0 <= begin && begin <= end && end <= this.byteLength)) {
      throw new RangeError(`[${begin}, ${end}) is outside the ${this.byteLength} snapshot bytes`);
    }
  }
}

/**
 * [begin, end) of `data`: a view of bytes in memory, or bytes read from a file into `scratch` when
 * it is large enough (the view is then valid until the caller's next read into it).
 */
export function readWindow(
  data: SnapshotBytes,
  begin: number,
  end: number,
  scratch: Buffer,
): Buffer {
  if (data instanceof SnapshotFileBytes && end - begin <= scratch.length) {
    return data.readInto(scratch.subarray(0, end - begin), begin);
  }
  const bytes = data.subarray(begin, end);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A stored snapshot with all of its bytes read: to hand it on as a leader's snapshot, or to inspect it. */
export function wholeSnapshot(snapshot: StoredSnapshot): Snapshot {
  const { data } = snapshot;
  return {
    metadata: snapshot.metadata,
    data: data instanceof Uint8Array ? data : data.subarray(0, data.byteLength),
  };
}
