import type { Entry } from "@dlock/raft";
import { decodeEntryIn, encodedEntryBytes, encodeEntryInto, entryTermIn } from "./codec.js";

/** Bytes per chunk; an entry larger than this gets a chunk of its own. */
const CHUNK_BYTES = 256 * 1024;
/** Slots of a fresh log; they double as needed. */
const SLOTS_INITIAL = 1024;

/**
 * The log above the snapshot, held in memory as its stored encoding: entries packed into large
 * append-only chunks, located by typed arrays, decoded on each read. Holding a decoded Entry per
 * index cost ~370 bytes of heap per entry (the entry, its data buffer, the DataView msgpackr
 * caches on a buffer it reads): tens of MiB at the 100,000 entries a compaction lets grow, all of
 * it promoted to the old generation. Here an entry costs its encoding and 12 bytes of index.
 *
 * Writes are staged: an entry is encoded into free chunk space (the bytes the storage's batch
 * copies), becomes part of the log with appendStaged() once the batch is written, and
 * discardStaged() forgets it if the batch failed. Staging never overwrites bytes a committed
 * entry uses, so a view handed out by entry() stays valid.
 */
export class EncodedLog {
  /** Index of the entry in slot `head`. */
  private first: number;
  private head = 0;
  private count = 0;
  /** Per slot: the chunk's number, the entry's offset in it and its encoded length. */
  private chunkOf = new Uint32Array(SLOTS_INITIAL);
  private offsetOf = new Uint32Array(SLOTS_INITIAL);
  private lengthOf = new Uint32Array(SLOTS_INITIAL);
  private encodedBytesTotal = 0;
  /** chunks[i] is chunk number chunkBase + i; chunks below the first entry's are released. */
  private chunks: Buffer[] = [];
  private chunkBase = 0;
  /** Where the next staged entry goes. */
  private writeChunk = 0;
  private writeAt = 0;
  /** The write position after the last committed entry: staging restarts here after a failure. */
  private committedChunk = 0;
  private committedAt = 0;
  /** Staged entries not yet appended, as [chunk, offset, length] triples, and the next to take. */
  private staged: number[] = [];
  private stagedNext = 0;

  /** An empty log whose first entry will be `first`. */
  constructor(first: number) {
    this.first = first;
  }

  /** Index of the first entry (the one after the snapshot), also when the log is empty. */
  firstIndex(): number {
    return this.first;
  }

  length(): number {
    return this.count;
  }

  /** Sum of the entries' encoded lengths. */
  encodedBytes(): number {
    return this.encodedBytesTotal;
  }

  /** The entry at `index`, which must be in the log; a normal entry's data is a view. */
  entry(index: number): Entry {
    const slot = this.slotOf(index);
    const chunk = this.chunks[this.chunkOf[slot]! - this.chunkBase]!;
    return decodeEntryIn(index, chunk, this.offsetOf[slot]!, this.lengthOf[slot]!);
  }

  /** The term of the entry at `index`, which must be in the log. */
  term(index: number): number {
    const slot = this.slotOf(index);
    return entryTermIn(this.chunks[this.chunkOf[slot]! - this.chunkBase]!, this.offsetOf[slot]!);
  }

  /** Encodes `entry` into free space and returns those bytes (valid until the next discard). */
  stage(entry: Entry): Buffer {
    const length = encodedEntryBytes(entry);
    const chunk = this.reserve(length);
    encodeEntryInto(entry, chunk, this.writeAt);
    return this.staging(chunk, length);
  }

  /** Stages an entry already encoded (read back from disk at start). */
  stageEncoded(bytes: Uint8Array): void {
    const chunk = this.reserve(bytes.length);
    chunk.set(bytes, this.writeAt);
    this.staging(chunk, bytes.length);
  }

  /** Appends the next `count` staged entries, in the order they were staged, at lastIndex + 1. */
  appendStaged(count: number): void {
    this.ensureSlots(count);
    for (let i = 0; i < count; i++) {
      const at = 3 * this.stagedNext++;
      const slot = this.head + this.count++;
      this.chunkOf[slot] = this.staged[at]!;
      this.offsetOf[slot] = this.staged[at + 1]!;
      const length = this.staged[at + 2]!;
      this.lengthOf[slot] = length;
      this.encodedBytesTotal += length;
    }
    if (this.stagedNext * 3 === this.staged.length) this.clearStaged();
  }

  /** The batch holding everything staged was written: later staging starts after it. */
  commitStaged(): void {
    this.committedChunk = this.writeChunk;
    this.committedAt = this.writeAt;
    this.clearStaged();
  }

  /** The batch failed: forget what was staged, and reuse its space. */
  discardStaged(): void {
    this.writeChunk = this.committedChunk;
    this.writeAt = this.committedAt;
    this.clearStaged();
  }

  /** Drops the entries from `index` on (a leader's entries overwrite a conflicting suffix). */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.first);
    while (this.count > keep) {
      this.count--;
      this.encodedBytesTotal -= this.lengthOf[this.head + this.count]!;
    }
  }

  /** Drops the entries up to `index` (covered by a snapshot now). */
  dropThrough(index: number): void {
    const drop = Math.min(this.count, index - this.first + 1);
    if (drop <= 0) return;
    for (let i = 0; i < drop; i++) this.encodedBytesTotal -= this.lengthOf[this.head + i]!;
    this.head += drop;
    this.count -= drop;
    this.first += drop;
    if (this.count === 0) this.head = 0;
    this.releaseChunks();
  }

  /** Empties the log; the next entry will be `first` (a snapshot from the leader replaced it). */
  reset(first: number): void {
    this.first = first;
    this.head = 0;
    this.count = 0;
    this.encodedBytesTotal = 0;
    this.releaseChunks();
  }

  private slotOf(index: number): number {
    const position = index - this.first;
    if (position < 0 || position >= this.count) {
      throw new RangeError(
        `entry ${index} is not in the log ${this.first}..${this.first + this.count - 1}`,
      );
    }
    return this.head + position;
  }

  /** A chunk with `length` bytes free at writeAt (moving to the next chunk if needed). */
  private reserve(length: number): Buffer {
    let chunk = this.chunks[this.writeChunk - this.chunkBase];
    if (chunk !== undefined && this.writeAt + length <= chunk.length) return chunk;
    if (chunk !== undefined) this.writeChunk++;
    this.writeAt = 0;
    chunk = this.chunks[this.writeChunk - this.chunkBase];
    // A chunk past the write position holds only discarded staging: reuse it if it is big enough.
    if (chunk === undefined || chunk.length < length) {
      chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, length));
      this.chunks[this.writeChunk - this.chunkBase] = chunk;
    }
    return chunk;
  }

  private staging(chunk: Buffer, length: number): Buffer {
    this.staged.push(this.writeChunk, this.writeAt, length);
    const bytes = chunk.subarray(this.writeAt, this.writeAt + length);
    this.writeAt += length;
    return bytes;
  }

  private clearStaged(): void {
    this.staged.length = 0;
    this.stagedNext = 0;
  }

  /** Room for `more` slots after the last: move the slots to the front, or grow. */
  private ensureSlots(more: number): void {
    const needed = this.count + more;
    if (this.head + needed <= this.chunkOf.length) return;
    const capacity =
      needed <= this.chunkOf.length / 2
        ? this.chunkOf.length
        : Math.max(2 * this.chunkOf.length, needed);
    const move = (from: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      if (capacity === from.length) return from.copyWithin(0, this.head, this.head + this.count);
      const to = new Uint32Array(capacity);
      to.set(from.subarray(this.head, this.head + this.count));
      return to;
    };
    this.chunkOf = move(this.chunkOf);
    this.offsetOf = move(this.offsetOf);
    this.lengthOf = move(this.lengthOf);
    this.head = 0;
  }

  /**
   * Forgets the chunks no entry uses: those below the first entry's chunk, or below the write
   * position's chunk when the log is empty. Views handed out keep their own chunk alive.
   */
  private releaseChunks(): void {
    const lowest = this.count > 0 ? this.chunkOf[this.head]! : this.committedChunk;
    const release = Math.min(lowest, this.writeChunk) - this.chunkBase;
    if (release <= 0) return;
    this.chunks.splice(0, release);
    this.chunkBase += release;
  }
}
