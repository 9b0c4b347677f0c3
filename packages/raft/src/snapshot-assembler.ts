import type { SnapshotCheck, SnapshotStaging } from "./config.js";
import type { NodeId, Snapshot, SnapshotBytes, SnapshotChunk, SnapshotMetadata } from "./types.js";

/**
 * A follower's partial InstallSnapshot transfer. Chunks must arrive in order; a duplicate or a gap
 * is answered with the offset we expect so the leader resends from there. The bytes go to the
 * host's staging as they are accepted: the core keeps only the offset, never the snapshot.
 */
export class SnapshotAssembler<Bytes extends SnapshotBytes = Uint8Array> {
  readonly metadata: SnapshotMetadata;
  readonly totalBytes: number;
  private readonly staging: SnapshotStaging<Bytes>;
  /** Fed each chunk as it is accepted, when the host checks snapshots a chunk at a time. */
  readonly check: SnapshotCheck | null;
  nextOffset = 0;
  /** The leader whose chunk is not answered while the staging is backlogged, or null. */
  answerHeldFor: NodeId | null = null;

  constructor(
    first: SnapshotChunk,
    staging: SnapshotStaging<Bytes>,
    check: SnapshotCheck | null = null,
  ) {
    this.metadata = first.metadata;
    this.totalBytes = first.totalBytes;
    this.staging = staging;
    this.check = check;
  }

  matches(chunk: SnapshotChunk): boolean {
    return (
      chunk.metadata.index === this.metadata.index &&
      chunk.metadata.term === this.metadata.term &&
      chunk.totalBytes === this.totalBytes
    );
  }

  /** Accepts the chunk if it is the next one; returns false if it is out of order or overflows. */
  accept(chunk: SnapshotChunk): boolean {
    if (chunk.offset !== this.nextOffset) return false;
    if (chunk.offset + chunk.data.byteLength > this.totalBytes) return false;
    this.staging.append(chunk.data);
    this.check?.update(chunk.data);
    this.nextOffset += chunk.data.byteLength;
    return true;
  }

  /** Whether the staging asks the core to hold its answer (SnapshotStaging.backlogged). */
  backlogged(): boolean {
    return this.staging.backlogged?.() === true;
  }

  complete(): boolean {
    return this.nextOffset === this.totalBytes;
  }

  /** The whole snapshot, once complete(); the staging's bytes pass to whoever installs it. */
  snapshot(): Snapshot<Bytes> {
    return { metadata: this.metadata, data: this.staging.bytes() };
  }

  /** The transfer is dropped: its staged bytes are garbage. */
  discard(): void {
    this.staging.discard();
  }
}
