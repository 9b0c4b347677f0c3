import type { ConfState, Entry, HardState, Snapshot } from "./types.js";

/**
 * The core's read-only view of what the host has made durable. The core never writes through
 * it: the host writes what a Ready asks for, and then this view must reflect it before advance().
 * All calls are synchronous, so a host keeps its log (from the last compaction on) in memory.
 *
 * Indexes: firstIndex() is the first entry still available (snapshot index + 1); lastIndex() the
 * last stored one; term(i) is defined for snapshot index ≤ i ≤ lastIndex (the snapshot's own
 * index answers with the snapshot's term).
 */
export interface Storage {
  /** Hard state and membership as they were at the last durable write (or bootstrap). */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes of data but always at least one if lo < hi. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i; throws CompactedError below the snapshot index, UnavailableError past the end. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The latest durable snapshot (index 0 when there is none yet). */
  snapshot(): Snapshot;
}
