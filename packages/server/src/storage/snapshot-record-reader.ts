// A snapshot's records read from its bytes a window at a time. A leader's snapshot is staged in a
// file as it arrives (86 MiB at a million locks): the install checks it, copies it and writes its
// table from windows of it, and the state machine decodes it the same way, so no step holds it
// whole. Bytes already in memory (a Uint8Array) are read the same way, through views.
import type { SnapshotBytes } from "@dlock/raft";
import { StorageError } from "./errors.js";
import { readWindow } from "./snapshot-file-bytes.js";
import { END_MARKER, HEADER_BYTES, MAGIC, TRAILER_BYTES, readUint64 } from "./snapshot-format.js";
import type { RecordSpan } from "./snapshot-format.js";

/** Bytes read at a time: a window holds ~11,000 records of a million-lock table. */
export const SNAPSHOT_READ_WINDOW_BYTES = 1024 * 1024;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The record count in the trailer of snapshot bytes that were checked. */
export function snapshotRecordCountOf(bytes: SnapshotBytes): number {
  const end = bytes.byteLength;
  if (end < HEADER_BYTES + TRAILER_BYTES) throw notASnapshot();
  return readUint64(asBuffer(bytes.subarray(end - TRAILER_BYTES + 4, end - 4)), 0);
}

/**
 * Walks the records of snapshot bytes that were checked (structure and checksum), in order, a
 * window at a time. Visits get the window and the record's span in it (one object, reused: copy
 * what must outlive the call). A value's view stays valid as long as it is held, unless the reader
 * reuses its window (`reuseWindow`): then only until the walk reads the next window, so only a
 * caller that keeps no view past its visit (or copies it) may ask for that. Reading a file's
 * 86 MiB into a fresh megabyte each time was external memory for the collector to chase.
 */
export class SnapshotRecordReader {
  private readonly bytes: SnapshotBytes;
  private readonly windowBytes: number;
  /** Where the end marker starts: the records lie in [HEADER_BYTES, recordsEnd). */
  private readonly recordsEnd: number;
  /** Absolute offset of `window`, and the next record's offset in it. */
  private windowAt: number;
  private window: Buffer = Buffer.alloc(0);
  private at = 0;
  private readonly span: RecordSpan = { keyAt: 0, keyEnd: 0, valueAt: 0, valueEnd: 0 };
  /** The buffer file reads go into when the window is reused; empty when it is not. */
  private readonly scratch: Buffer;

  constructor(
    bytes: SnapshotBytes,
    windowBytes = SNAPSHOT_READ_WINDOW_BYTES,
    { reuseWindow = false }: { reuseWindow?: boolean } = {},
  ) {
    this.bytes = bytes;
    this.windowBytes = windowBytes;
    this.scratch = Buffer.allocUnsafe(reuseWindow ? Math.min(windowBytes, bytes.byteLength) : 0);
    if (bytes.byteLength < HEADER_BYTES + TRAILER_BYTES) throw notASnapshot();
    const header = asBuffer(bytes.subarray(0, MAGIC.length));
    if (!header.equals(MAGIC)) throw notASnapshot();
    this.recordsEnd = bytes.byteLength - TRAILER_BYTES;
    this.windowAt = HEADER_BYTES;
    const marker = asBuffer(bytes.subarray(this.recordsEnd, this.recordsEnd + 4));
    if (marker.readUInt32BE(0) !== END_MARKER) throw notASnapshot();
  }

  /** Whether records are left to walk. */
  more(): boolean {
    return this.windowAt + this.at < this.recordsEnd;
  }

  /** Walks at most `recordsMax` records; returns whether any are left. */
  walk(recordsMax: number, visit: (buf: Buffer, span: Readonly<RecordSpan>) => void): boolean {
    const span = this.span;
    for (let walked = 0; walked < recordsMax && this.more(); walked++) {
      let buf = this.window;
      let at = this.at;
      if (!recordAt(buf, at)) {
        this.refill();
        buf = this.window;
        at = 0;
      }
      span.keyAt = at + 4;
      span.keyEnd = span.keyAt + buf.readUInt32BE(at);
      span.valueAt = span.keyEnd + 4;
      span.valueEnd = span.valueAt + buf.readUInt32BE(span.keyEnd);
      this.at = span.valueEnd;
      visit(buf, span);
    }
    return this.more();
  }

  /**
   * Reads from the next record on: a window, or the record whole if it is larger (into a buffer of
   * its own: the scratch holds a window).
   */
  private refill(): void {
    const from = this.windowAt + this.at;
    let length = Math.min(this.windowBytes, this.recordsEnd - from);
    for (;;) {
      const buf = readWindow(this.bytes, from, from + length, this.scratch);
      if (recordAt(buf, 0)) {
        this.window = buf;
        this.windowAt = from;
        this.at = 0;
        return;
      }
      if (from + length >= this.recordsEnd) {
        throw new StorageError("CORRUPT", `snapshot record at byte ${from} runs past the records`);
      }
      length = Math.min(length * 2, this.recordsEnd - from);
    }
  }
}

/** Whether a whole record starts at `at` in `buf`. */
function recordAt(buf: Buffer, at: number): boolean {
  if (at + 4 > buf.length) return false;
  const valueLengthAt = at + 4 + buf.readUInt32BE(at);
  if (valueLengthAt + 4 > buf.length) return false;
  return valueLengthAt + 4 + buf.readUInt32BE(valueLengthAt) <= buf.length;
}

function notASnapshot(): StorageError {
  return new StorageError("CORRUPT", "snapshot data is not a dlock snapshot");
}
