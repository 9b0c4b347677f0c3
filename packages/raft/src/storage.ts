import type { ConfState, Entry, HardState, StoredSnapshot } from "./types.js";

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
  /**
   * The durable hard state, and the membership as of the latest snapshot (or the bootstrap
   * membership when there is no snapshot yet); it must equal snapshot().metadata.confState.
   * Membership changes after the snapshot are NOT folded in here: they take effect when their
   * config entries are appended, so on construction the core re-derives the current membership
   * by replaying the config entries stored after the snapshot index. A host therefore never
   * has to persist membership separately from the log and its snapshots.
   */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes of data but always at least one if lo < hi. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i; throws CompactedError below the snapshot index, UnavailableError past the end. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /**
   * The latest durable snapshot (index 0 when there is none yet). Compaction never passes it:
   * firstIndex() - 1 ≤ snapshot().metadata.index, so a follower that needs entries that are gone
   * can always be sent this snapshot instead.
   */
  snapshot(): StoredSnapshot;
}
