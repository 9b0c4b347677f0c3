import type { SnapshotCheck } from "./config.js";
import type { Snapshot, SnapshotChunk, SnapshotMetadata } from "./types.js";

/**
 * A follower's partial InstallSnapshot transfer. Chunks must arrive in order; a duplicate or a gap
 * is answered with the offset we expect so the leader resends from there.
 */
export class SnapshotAssembler {
  readonly metadata: SnapshotMetadata;
  private readonly buffer: Uint8Array;
  /** Fed each chunk as it is accepted, when the host checks snapshots a chunk at a time. */
  readonly check: SnapshotCheck | null;
  nextOffset = 0;

  constructor(first: SnapshotChunk, check: SnapshotCheck | null = null) {
    this.metadata = first.metadata;
    this.buffer = new Uint8Array(first.totalBytes);
    this.check = check;
  }

  matches(chunk: SnapshotChunk): boolean {
    return (
      chunk.metadata.index === this.metadata.index &&
      chunk.metadata.term === this.metadata.term &&
      chunk.totalBytes === this.buffer.byteLength
    );
  }

  /** Accepts the chunk if it is the next one; returns false if it is out of order or overflows. */
  accept(chunk: SnapshotChunk): boolean {
    if (chunk.offset !== this.nextOffset) return false;
    if (chunk.offset + chunk.data.byteLength > this.buffer.byteLength) return false;
    this.buffer.set(chunk.data, chunk.offset);
    this.check?.update(chunk.data);
    this.nextOffset += chunk.data.byteLength;
    return true;
  }

  complete(): boolean {
    return this.nextOffset === this.buffer.byteLength;
  }

  snapshot(): Snapshot {
    return { metadata: this.metadata, data: this.buffer };
  }
}
