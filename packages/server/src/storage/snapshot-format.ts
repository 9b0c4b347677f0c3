// The bytes of a Raft snapshot: a dump of the replicated state (every lock record and the members
// record) exactly as LevelDB stores it at one applied index, closed by a CRC-32 so that a torn
// file or a transfer corrupted on the way is caught before anything is installed.
//
//   header   "DLSNAP01" | index (u64 BE) | term (u64 BE)
//   records  (key length u32 BE | key | value length u32 BE | value)*   in LevelDB key order
//   trailer  0xFFFFFFFF | record count (u64 BE) | CRC-32 of every byte before it (u32 BE)
//
// The same bytes are the file on disk and the payload of InstallSnapshot, so a member that
// receives a snapshot checks it once and stores it as it came.
import { crc32 } from "node:zlib";
import { StorageError } from "./errors.js";

export const MAGIC = Buffer.from("DLSNAP01", "latin1");
export const HEADER_BYTES = MAGIC.length + 16;
export const END_MARKER = 0xffff_ffff;
export const TRAILER_BYTES = 4 + 8 + 4;
/** Bytes a stepped check (of a file, or of a leader's snapshot) passes to SnapshotScan at a time. */
export const SNAPSHOT_SCAN_STEP_BYTES = 1024 * 1024;
/** Records are gathered into pieces of about this size before the final copy into one buffer. */
const PIECE_BYTES = 256 * 1024;

export interface SnapshotHeader {
  /** Index and term of the last entry the dump includes (its applied index). */
  index: number;
  term: number;
  recordCount: number;
}

function writeUint64(out: Buffer, value: number, at: number): void {
  out.writeUInt32BE(Math.floor(value / 0x1_0000_0000), at);
  out.writeUInt32BE(value >>> 0, at + 4);
}

export function readUint64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/**
 * Builds snapshot bytes record by record: finish() returns them as one contiguous buffer, or
 * takePieces() and finishPieces() hand them out as they are completed.
 */
export class SnapshotEncoder {
  private readonly pieces: Buffer[] = [];
  private piece: Buffer = Buffer.allocUnsafe(PIECE_BYTES);
  private used = 0;
  private bytes = 0;
  private records = 0;
  private crc = 0;
  private finished = false;

  constructor(index: number, term: number) {
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    MAGIC.copy(header, 0);
    writeUint64(header, index, MAGIC.length);
    writeUint64(header, term, MAGIC.length + 8);
    this.push(header);
  }

  /** Appends one stored record (its full LevelDB key and value). */
  add(key: Uint8Array, value: Uint8Array): void {
    if (this.finished) throw new Error("snapshot encoder already finished");
    this.pushLength(key.length);
    this.push(key);
    this.pushLength(value.length);
    this.push(value);
    this.records++;
  }

  /** Closes the dump with its trailer and returns the whole of it. */
  finish(): Buffer {
    return Buffer.concat(this.finishPieces());
  }

  /**
   * The bytes completed since the last call, in order, for a caller that writes them out as the
   * dump goes (a snapshot file): they are no longer kept here.
   */
  takePieces(): Buffer[] {
    return this.pieces.splice(0);
  }

  /** Closes the dump with its trailer and returns the bytes takePieces() did not take. */
  finishPieces(): Buffer[] {
    if (this.finished) throw new Error("snapshot encoder already finished");
    this.finished = true;
    const trailerHead = Buffer.allocUnsafe(12);
    trailerHead.writeUInt32BE(END_MARKER, 0);
    writeUint64(trailerHead, this.records, 4);
    this.push(trailerHead);
    this.flushPiece();
    const checksum = Buffer.allocUnsafe(4);
    checksum.writeUInt32BE(this.crc, 0);
    this.bytes += 4;
    return [...this.pieces.splice(0), checksum];
  }

  /** Bytes of the dump so far (all of it once finished). */
  get byteLength(): number {
    return this.bytes;
  }

  private pushLength(length: number): void {
    if (this.used + 4 > this.piece.length) this.flushPiece();
    this.piece.writeUInt32BE(length, this.used);
    this.used += 4;
    this.bytes += 4;
  }

  private push(bytes: Uint8Array): void {
    this.bytes += bytes.length;
    if (bytes.length > PIECE_BYTES / 4) {
      this.flushPiece();
      const copy = Buffer.from(bytes);
      this.crc = crc32(copy, this.crc);
      this.pieces.push(copy);
      return;
    }
    if (this.used + bytes.length > this.piece.length) this.flushPiece();
    this.piece.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** The checksum is computed a piece at a time: one call per 256 KiB, not one per record. */
  private flushPiece(): void {
    if (this.used === 0) return;
    const done = this.piece.subarray(0, this.used);
    this.crc = crc32(done, this.crc);
    this.pieces.push(done);
    this.piece = Buffer.allocUnsafe(PIECE_BYTES);
    this.used = 0;
  }
}

/** Why `data` is not a well-formed snapshot, or null when it is (structure and checksum). */
export function snapshotProblem(
  data: Uint8Array,
  expected?: { index: number; term: number },
): string | null {
  const scan = new SnapshotScan(data.length, expected);
  scan.update(data);
  return scan.problem();
}

/**
 * snapshotProblem() over bytes that arrive in order, in pieces of any size (a file read a chunk
 * at a time): the structure is walked and the checksum computed as they come, and nothing is kept
 * but the few bytes of a field cut between two pieces. `totalBytes` is the size of the whole.
 */
export class SnapshotScan {
  private readonly totalBytes: number;
  private readonly checksumAt: number;
  private readonly expected: { index: number; term: number } | undefined;
  /** Bytes passed to update() so far. */
  private seen = 0;
  private crc = 0;
  /** The stored checksum: the last four bytes. */
  private readonly storedCrc = Buffer.alloc(4);
  /** Absolute offset of the next field the walk reads, and what it is. */
  private next = 0;
  private field: "header" | "key" | "value" | "trailer" | "done" = "header";
  /** The start of the field at `next` when a piece ended inside it. */
  private carry: Buffer | null = null;
  private records = 0;
  private header: { magicOk: boolean; index: number; term: number } | null = null;
  private structure: string | null = null;

  constructor(totalBytes: number, expected?: { index: number; term: number }) {
    this.totalBytes = totalBytes;
    this.checksumAt = totalBytes - 4;
    this.expected = expected;
    if (totalBytes < HEADER_BYTES + TRAILER_BYTES) this.field = "done";
  }

  update(piece: Uint8Array): void {
    const pieceAt = this.seen;
    this.seen += piece.length;
    if (this.seen > this.totalBytes) throw new Error("snapshot scan got more bytes than announced");
    const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.length);
    const crcEnd = Math.max(0, Math.min(bytes.length, this.checksumAt - pieceAt));
    if (crcEnd > 0) this.crc = crc32(bytes.subarray(0, crcEnd), this.crc);
    if (crcEnd < bytes.length && this.checksumAt >= 0)
      bytes.copy(this.storedCrc, Math.max(0, pieceAt - this.checksumAt), crcEnd);
    if (this.field === "done") return;
    if (this.carry === null) this.walk(bytes, pieceAt);
    else {
      const carried = this.carry;
      this.carry = null;
      this.walk(Buffer.concat([carried, bytes]), pieceAt - carried.length);
    }
  }

  /** Why the bytes are not a well-formed snapshot, or null; once every byte was passed. */
  problem(): string | null {
    if (this.totalBytes < HEADER_BYTES + TRAILER_BYTES)
      return `${this.totalBytes} bytes is too short`;
    if (this.seen !== this.totalBytes) throw new Error("snapshot scan has not seen every byte");
    const { header, expected } = this;
    if (header === null || !header.magicOk) return "unknown format (bad magic)";
    const stored = this.storedCrc.readUInt32BE(0);
    if (stored !== this.crc) {
      return `checksum mismatch (stored ${stored.toString(16)}, computed ${this.crc.toString(16)})`;
    }
    if (
      expected !== undefined &&
      (header.index !== expected.index || header.term !== expected.term)
    ) {
      return `dump is of (${header.index}, ${header.term}), metadata says (${expected.index}, ${expected.term})`;
    }
    return this.structure ?? (this.field === "done" ? null : "truncated record");
  }

  /** Walks the fields that `buf` (starting at absolute offset `bufAt`) holds. */
  private walk(buf: Buffer, bufAt: number): void {
    if (this.field === "header") {
      if (!this.have(buf, bufAt, HEADER_BYTES)) return;
      const at = this.next - bufAt;
      this.header = {
        magicOk: buf.subarray(at, at + MAGIC.length).equals(MAGIC),
        index: readUint64(buf, at + MAGIC.length),
        term: readUint64(buf, at + MAGIC.length + 8),
      };
      this.next += HEADER_BYTES;
      this.field = "key";
    }
    // The records, in locals: a million of them are walked in one call when checked whole.
    const { checksumAt } = this;
    const end = bufAt + buf.length;
    let next = this.next;
    let records = this.records;
    let field = this.field;
    while (field === "key" || field === "value") {
      if (next + 4 > checksumAt) {
        this.stop("truncated record");
        return;
      }
      if (next + 4 > end) break;
      const length = buf.readUInt32BE(next - bufAt);
      if (field === "value") {
        next += 4 + length;
        if (next > checksumAt) {
          this.stop("truncated record");
          return;
        }
        records++;
        field = "key";
      } else if (length !== END_MARKER) {
        next += 4 + length;
        field = "value";
      } else if (next + TRAILER_BYTES !== this.totalBytes) {
        this.stop("bytes after the trailer");
        return;
      } else field = "trailer";
    }
    this.next = next;
    this.records = records;
    this.field = field;
    if (field === "trailer") {
      if (!this.have(buf, bufAt, 12)) return;
      const at = next - bufAt;
      this.stop(readUint64(buf, at + 4) === records ? null : "record count mismatch");
      return;
    }
    if (field !== "done") this.have(buf, bufAt, 4);
  }

  /** Whether `bytes` from `next` are in `buf`; if not, keeps the part it holds for the next piece. */
  private have(buf: Buffer, bufAt: number, bytes: number): boolean {
    const at = this.next - bufAt;
    if (at + bytes <= buf.length) return true;
    if (at < buf.length) this.carry = Buffer.from(buf.subarray(at));
    return false;
  }

  private stop(problem: string | null): void {
    this.structure = problem;
    this.field = "done";
  }
}

/** The header of a snapshot that snapshotProblem() accepted. */
export function readSnapshotHeader(data: Uint8Array): SnapshotHeader {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  assertWellFormed(buf);
  return {
    index: readUint64(buf, MAGIC.length),
    term: readUint64(buf, MAGIC.length + 8),
    recordCount: readUint64(buf, buf.length - TRAILER_BYTES + 4),
  };
}

/** The records of a snapshot that snapshotProblem() accepted, as views into `data`. */
export function* snapshotRecords(data: Uint8Array): Generator<[key: Buffer, value: Buffer]> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  assertWellFormed(buf);
  let at = HEADER_BYTES;
  for (;;) {
    const keyLength = buf.readUInt32BE(at);
    if (keyLength === END_MARKER) return;
    const key = buf.subarray(at + 4, at + 4 + keyLength);
    at += 4 + keyLength;
    const valueLength = buf.readUInt32BE(at);
    const value = buf.subarray(at + 4, at + 4 + valueLength);
    at += 4 + valueLength;
    yield [key, value];
  }
}

/** Where one record lies in a snapshot: key [keyAt, keyEnd), value [valueAt, valueEnd). */
export interface RecordSpan {
  keyAt: number;
  keyEnd: number;
  valueAt: number;
  valueEnd: number;
}

/**
 * Walks at most `recordsMax` records of a snapshot that snapshotProblem() accepted, from byte
 * `from` (0: the first record), calling `visit` with the snapshot as a Buffer and the record's
 * span (one object, reused: copy what must outlive the call). Returns where the next call goes
 * on, or -1 once every record was walked. No view or pair per record: an install walks a million.
 */
export function walkSnapshotRecords(
  data: Uint8Array,
  from: number,
  recordsMax: number,
  visit: (buf: Buffer, span: Readonly<RecordSpan>) => void,
): number {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (from === 0) assertWellFormed(buf);
  let at = from === 0 ? HEADER_BYTES : from;
  const span: RecordSpan = { keyAt: 0, keyEnd: 0, valueAt: 0, valueEnd: 0 };
  for (let walked = 0; walked < recordsMax; walked++) {
    const keyLength = buf.readUInt32BE(at);
    if (keyLength === END_MARKER) return -1;
    span.keyAt = at + 4;
    span.keyEnd = span.keyAt + keyLength;
    span.valueAt = span.keyEnd + 4;
    span.valueEnd = span.valueAt + buf.readUInt32BE(span.keyEnd);
    visit(buf, span);
    at = span.valueEnd;
  }
  return buf.readUInt32BE(at) === END_MARKER ? -1 : at;
}

/**
 * walkSnapshotRecords() that pushes onto `out` a view of the value of each record whose key
 * starts with `keyByte`, until `valuesMax` are pushed (no view of a key, no pair).
 */
export function snapshotValuesFrom(
  data: Uint8Array,
  from: number,
  keyByte: number,
  valuesMax: number,
  out: Uint8Array[],
): number {
  let at = from;
  const pushedBefore = out.length;
  const push = (buf: Buffer, span: Readonly<RecordSpan>): void => {
    if (span.keyEnd > span.keyAt && buf[span.keyAt] === keyByte)
      out.push(buf.subarray(span.valueAt, span.valueEnd));
  };
  do {
    at = walkSnapshotRecords(data, at, valuesMax - (out.length - pushedBefore), push);
  } while (at !== -1 && out.length - pushedBefore < valuesMax);
  return at;
}

/**
 * The value of the record stored under `key` in a snapshot that snapshotProblem() accepted, or
 * null. Walks the lengths only: no view per record (a million records made two million).
 */
export function findSnapshotRecord(data: Uint8Array, key: Uint8Array): Buffer | null {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  assertWellFormed(buf);
  let found: Buffer | null = null;
  let at = HEADER_BYTES;
  for (;;) {
    const keyLength = buf.readUInt32BE(at);
    if (keyLength === END_MARKER) return found;
    const keyAt = at + 4;
    at = keyAt + keyLength;
    const valueLength = buf.readUInt32BE(at);
    if (keyLength === key.length && buf.compare(key, 0, key.length, keyAt, at) === 0)
      found = buf.subarray(at + 4, at + 4 + valueLength);
    at += 4 + valueLength;
  }
}

function assertWellFormed(buf: Buffer): void {
  if (buf.length < HEADER_BYTES + TRAILER_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StorageError("CORRUPT", "snapshot data is not a dlock snapshot");
  }
}
