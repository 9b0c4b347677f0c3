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
    if (!(0 <= begin && begin <= end && end <= this.byteLength)) {
      throw new RangeError(`[${begin}, ${end}) is outside the ${this.byteLength} snapshot bytes`);
    }
    const out = Buffer.allocUnsafe(end - begin);
    let fd: number | null = null;
    try {
      fd = openSync(this.path, "r");
      let at = 0;
      while (at < out.length) {
        const read = readSync(fd, out, at, out.length - at, begin + at);
        if (read === 0) throw new Error(`the file ends at byte ${begin + at}`);
        at += read;
      }
    } catch (cause) {
      throw new StorageError("CORRUPT", `snapshot file ${this.path} cannot be read`, { cause });
    } finally {
      if (fd !== null) closeSync(fd);
    }
    return out;
  }
}

/** A stored snapshot with all of its bytes read: to hand it on as a leader's snapshot, or to inspect it. */
export function wholeSnapshot(snapshot: StoredSnapshot): Snapshot {
  const { data } = snapshot;
  return {
    metadata: snapshot.metadata,
    data: data instanceof Uint8Array ? data : data.subarray(0, data.byteLength),
  };
}
