import { limitBytes } from "./entry-size.js";
import { CompactedError, RaftError, UnavailableError } from "./errors.js";
import type { Storage } from "./storage.js";
import type { ConfState, Entry, HardState, Ready, Snapshot } from "./types.js";

/**
 * An in-memory Storage with the write side a host needs (etcd's MemoryStorage). Everything written
 * is immediately "durable"; the simulator wraps it to model what a crash loses.
 *
 * Layout: entries after `compactedIndex` are held in an array; (compactedIndex, compactedTerm) is
 * the dummy position before the first one. The latest snapshot is kept separately; compaction
 * never goes past it, so a lagging follower can always be sent a snapshot that covers what is gone.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  private latestSnapshot: Snapshot;
  private compactedIndex = 0;
  private compactedTerm = 0;
  private log: Entry[] = [];

  /** A fresh node; `confState` is the bootstrap membership (empty for a node that will join). */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.latestSnapshot = {
      metadata: {
        index: 0,
        term: 0,
        confState: { voters: confState.voters.slice(), learners: confState.learners.slice() },
      },
      data: new Uint8Array(0),
    };
  }

  // ---- Storage (read side) ----------------------------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    const conf = this.latestSnapshot.metadata.confState;
    return {
      hardState: { ...this.hardState },
      confState: { voters: conf.voters.slice(), learners: conf.learners.slice() },
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.compactedIndex) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const base = this.compactedIndex + 1;
    return limitBytes(this.log.slice(lo - base, hi - base), maxBytes);
  }

  term(index: number): number {
    if (index === this.compactedIndex) return this.compactedTerm;
    if (index < this.compactedIndex) throw new CompactedError(index, this.firstIndex());
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    return this.log[index - this.compactedIndex - 1]!.term;
  }

  firstIndex(): number {
    return this.compactedIndex + 1;
  }

  lastIndex(): number {
    return this.compactedIndex + this.log.length;
  }

  snapshot(): Snapshot {
    return this.latestSnapshot;
  }

  // ---- Host write side ------------------------------------------------------------------------

  /** Persists one Ready in the order its contract asks: snapshot, entries, hard state. */
  persist(ready: Ready): void {
    if (ready.snapshot !== undefined) this.applySnapshot(ready.snapshot);
    this.append(ready.entries);
    if (ready.hardState !== undefined) this.setHardState(ready.hardState);
  }

  setHardState(hardState: HardState): void {
    this.hardState = { ...hardState };
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  /** Appends entries, replacing any stored suffix from entries[0].index on. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    let first = entries[0]!.index;
    let from = 0;
    if (first <= this.compactedIndex) {
      // The part already covered by compaction is committed and identical: skip it.
      from = this.compactedIndex + 1 - first;
      if (from >= entries.length) return;
      first = this.compactedIndex + 1;
    }
    if (first > this.lastIndex() + 1) {
      throw new RaftError(
        "UNAVAILABLE",
        `append at ${first} would leave a gap after the last index ${this.lastIndex()}`,
      );
    }
    this.log.length = first - this.compactedIndex - 1;
    for (let i = from; i < entries.length; i++) this.log.push(entries[i]!);
  }

  /** Replaces the whole log with `snapshot` (a follower installing the leader's snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    if (index <= this.latestSnapshot.metadata.index && this.latestSnapshot.metadata.index > 0) {
      throw new RaftError(
        "COMPACTED",
        `snapshot ${index} is not newer than the stored one (${this.latestSnapshot.metadata.index})`,
      );
    }
    this.latestSnapshot = snapshot;
    this.compactedIndex = index;
    this.compactedTerm = snapshot.metadata.term;
    this.log = [];
  }

  /**
   * Records a snapshot of the state machine as of applied entry `index`, with the membership as of
   * that index. Entries are kept until compact() drops them.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.latestSnapshot.metadata.index) {
      throw new RaftError(
        "COMPACTED",
        `snapshot ${index} is not newer than the stored one (${this.latestSnapshot.metadata.index})`,
      );
    }
    const term = this.term(index);
    this.latestSnapshot = {
      metadata: {
        index,
        term,
        confState: { voters: confState.voters.slice(), learners: confState.learners.slice() },
      },
      data,
    };
    return this.latestSnapshot;
  }

  /** Drops entries up to `index`, which must not pass the latest snapshot. */
  compact(index: number): void {
    if (index <= this.compactedIndex) return;
    if (index > this.latestSnapshot.metadata.index) {
      throw new RaftError(
        "UNAVAILABLE",
        `compact(${index}) past the latest snapshot ${this.latestSnapshot.metadata.index}`,
      );
    }
    const term = this.term(index);
    this.log.splice(0, index - this.compactedIndex);
    this.compactedIndex = index;
    this.compactedTerm = term;
  }
}
