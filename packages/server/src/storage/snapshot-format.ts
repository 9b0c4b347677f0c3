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

const MAGIC = Buffer.from("DLSNAP01", "latin1");
const HEADER_BYTES = MAGIC.length + 16;
const END_MARKER = 0xffff_ffff;
const TRAILER_BYTES = 4 + 8 + 4;
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

function readUint64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/** Builds snapshot bytes record by record; finish() returns them as one contiguous buffer. */
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
    if (this.finished) throw new Error("snapshot encoder already finished");
    this.finished = true;
    const trailerHead = Buffer.allocUnsafe(12);
    trailerHead.writeUInt32BE(END_MARKER, 0);
    writeUint64(trailerHead, this.records, 4);
    this.push(trailerHead);
    this.flushPiece();
    const out = Buffer.allocUnsafe(this.bytes + 4);
    let at = 0;
    for (const piece of this.pieces) {
      piece.copy(out, at);
      at += piece.length;
    }
    out.writeUInt32BE(this.crc, at);
    this.pieces.length = 0;
    return out;
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
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (buf.length < HEADER_BYTES + TRAILER_BYTES) return `${buf.length} bytes is too short`;
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return "unknown format (bad magic)";
  const checksumAt = buf.length - 4;
  const stored = buf.readUInt32BE(checksumAt);
  const actual = crc32(buf.subarray(0, checksumAt));
  if (stored !== actual) {
    return `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`;
  }
  const index = readUint64(buf, MAGIC.length);
  const term = readUint64(buf, MAGIC.length + 8);
  if (expected !== undefined && (index !== expected.index || term !== expected.term)) {
    return `dump is of (${index}, ${term}), metadata says (${expected.index}, ${expected.term})`;
  }
  let at = HEADER_BYTES;
  let records = 0;
  for (;;) {
    if (at + 4 > checksumAt) return "truncated record";
    const keyLength = buf.readUInt32BE(at);
    if (keyLength === END_MARKER) break;
    at += 4 + keyLength;
    if (at + 4 > checksumAt) return "truncated record";
    at += 4 + buf.readUInt32BE(at);
    if (at > checksumAt) return "truncated record";
    records++;
  }
  if (at + TRAILER_BYTES !== buf.length) return "bytes after the trailer";
  if (readUint64(buf, at + 4) !== records) return "record count mismatch";
  return null;
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
