import type { Entry, Snapshot, SnapshotBytes } from "./types.js";

/**
 * The tail of the log that is not yet known durable: entries (and at most one snapshot) that the
 * core produced or received and the host has not yet acknowledged through advance().
 *
 * Entries below `offset` are durable and read from Storage; entries at or above it live here,
 * even when the host has already written them (the core only trusts advance()). Entries below
 * `inProgressNext` were already handed to the host in a Ready.
 */
export class Unstable {
  snapshot: Snapshot<SnapshotBytes> | null = null;
  /** The snapshot was handed to the host in a Ready (not yet advanced). */
  snapshotInProgress = false;
  entries: Entry[] = [];
  /** Index of entries[0]. */
  offset: number;
  /** First index not yet handed to the host. offset ≤ inProgressNext ≤ offset + entries.length. */
  inProgressNext: number;

  constructor(offset: number) {
    this.offset = offset;
    this.inProgressNext = offset;
  }

  /** Last index held here, or -1 when this holds neither entries nor a snapshot. */
  lastIndex(): number {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== null) return this.snapshot.metadata.index;
    return -1;
  }

  /** Term of entry `index` if held here, else -1. */
  term(index: number): number {
    if (index >= this.offset) {
      const i = index - this.offset;
      return this.entries[i]?.term ?? -1;
    }
    if (this.snapshot !== null && index === this.snapshot.metadata.index) {
      return this.snapshot.metadata.term;
    }
    return -1;
  }

  /** Appends `entries`, discarding any held suffix they overwrite. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (after <= this.offset) {
      // Overwrites everything held here (and possibly durable entries): restart from `after`.
      this.offset = after;
      this.entries = entries.slice();
      this.inProgressNext = after;
    } else {
      this.entries.length = after - this.offset;
      for (const entry of entries) this.entries.push(entry);
      if (this.inProgressNext > after) this.inProgressNext = after;
    }
  }

  /** Entries not yet handed to the host. */
  pendingEntries(): Entry[] {
    const from = this.inProgressNext - this.offset;
    return from < this.entries.length ? this.entries.slice(from) : [];
  }

  hasPendingEntries(): boolean {
    return this.inProgressNext < this.offset + this.entries.length;
  }

  /** Everything currently held was handed to the host. */
  acceptInProgress(): void {
    this.inProgressNext = this.offset + this.entries.length;
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  /** Entries up to `index` are durable: drop them (they are read from Storage from now on). */
  stableTo(index: number): void {
    if (index < this.offset) return;
    const count = Math.min(index - this.offset + 1, this.entries.length);
    this.entries.splice(0, count);
    this.offset += count;
    if (this.inProgressNext < this.offset) this.inProgressNext = this.offset;
  }

  /** The snapshot at `index` is durable. */
  stableSnapshotTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces everything with `snapshot`: the log restarts right after it. */
  restore(snapshot: Snapshot<SnapshotBytes>): void {
    this.snapshot = snapshot;
    this.snapshotInProgress = false;
    this.offset = snapshot.metadata.index + 1;
    this.inProgressNext = this.offset;
    this.entries = [];
  }

  /** Entries [lo, hi); the caller guarantees offset ≤ lo ≤ hi ≤ lastIndex + 1. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
