import { entryBytes, limitBytes } from "./entry-size.js";
import type { Storage } from "./storage.js";
import { Unstable } from "./unstable.js";
import type { Entry, Snapshot, SnapshotBytes } from "./types.js";

/**
 * One Ready handed to the host and not yet advanced: what it asked to persist. `lastIndex` is the
 * last entry of that write that still belongs to the log: when a later write overwrites a suffix,
 * earlier pending writes are clamped to the common prefix, so a late acknowledgement of an
 * overwritten write can never mark the new entries durable (the A-B-A case).
 */
interface PendingWrite {
  readyId: number;
  lastIndex: number;
  snapshotIndex: number;
}

/**
 * The log as the core sees it: durable entries in Storage, then the unstable tail, plus the commit
 * and apply cursors. Invariants: applied ≤ applying ≤ committed ≤ lastIndex().
 */
export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known committed. */
  committed: number;
  /** Highest index handed to the host in committedEntries (or a snapshot). */
  applying: number;
  /** Highest index the host reported applied. */
  applied: number;
  private readonly writes: PendingWrite[] = [];

  constructor(
    readonly storage: Storage,
    applied: number,
    commit: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    const floor = first - 1;
    this.applied = Math.max(applied, floor);
    this.applying = this.applied;
    this.committed = Math.min(Math.max(commit, this.applied), last);
    if (this.applied > last) {
      throw new Error(`raft log: applied ${this.applied} is past the last stored index ${last}`);
    }
  }

  firstIndex(): number {
    const snapshot = this.unstable.snapshot;
    return snapshot !== null ? snapshot.metadata.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    const last = this.unstable.lastIndex();
    return last >= 0 ? last : this.storage.lastIndex();
  }

  /** Term of entry `index`, or -1 when it is compacted away or past the end. */
  term(index: number): number {
    const unstableTerm = this.unstable.term(index);
    if (unstableTerm >= 0) return unstableTerm;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return -1;
    if (index >= this.unstable.offset) return -1;
    return this.storage.term(index);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The index of the first entry of `entries` that is new or conflicts with ours (different term
   * at the same index), or 0 if we already hold all of them.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (this.term(entry.index) !== entry.term) return entry.index;
    }
    return 0;
  }

  /**
   * Fast backtracking: the largest index ≤ `index` whose term is ≤ `term` (or the first index we
   * still know), with its term. Entries above it cannot match a log whose entry at `index` has
   * term `term`, so a leader can skip them all in one round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    const floor = this.firstIndex() - 1;
    let i = Math.min(index, this.lastIndex());
    for (; i > floor; i--) {
      const t = this.term(i);
      if (t <= term) return { index: i, term: t };
    }
    return { index: i, term: Math.max(this.term(i), 0) };
  }

  /** Appends entries (which may overwrite a suffix); returns the new last index. */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index;
    if (after - 1 < this.committed) {
      throw new Error(`raft log: append at ${after} would overwrite committed ${this.committed}`);
    }
    if (after <= this.lastIndex()) {
      // A suffix is being overwritten: writes still pending may only vouch for the common prefix.
      for (const write of this.writes) {
        if (write.lastIndex >= after) write.lastIndex = after - 1;
      }
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    const last = this.lastIndex();
    if (index > last) throw new Error(`raft log: commit ${index} is past the last index ${last}`);
    this.committed = index;
    return true;
  }

  appliedTo(index: number): void {
    if (index > this.applying) {
      throw new Error(
        `raft log: applied ${index} was never handed out (applying ${this.applying})`,
      );
    }
    if (index > this.applied) this.applied = index;
  }

  /** Entries [lo, hi), at most maxBytes of payload (always at least one when lo < hi). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new Error(`raft log: slice from ${lo} below first index ${first}`);
    const offset = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < offset) {
      const storedHi = Math.min(hi, offset);
      result = this.storage.entries(lo, storedHi, maxBytes);
      if (result.length < storedHi - lo || storedHi === hi) return result;
    }
    const fromUnstable = this.unstable.slice(Math.max(lo, offset), hi);
    if (result.length === 0) return limitBytes(fromUnstable, maxBytes);
    let total = 0;
    for (const entry of result) total += entryBytes(entry);
    for (const entry of fromUnstable) {
      total += entryBytes(entry);
      if (total > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /** Committed entries not yet handed out, up to maxBytes; moves `applying` past them. */
  takeCommittedEntries(maxBytes: number): Entry[] {
    if (this.applying >= this.committed) return [];
    const entries = this.slice(this.applying + 1, this.committed + 1, maxBytes);
    const last = entries.at(-1);
    if (last !== undefined) this.applying = last.index;
    return entries;
  }

  hasCommittedEntries(): boolean {
    return this.applying < this.committed;
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(snapshot: Snapshot<SnapshotBytes>): void {
    for (const write of this.writes) write.lastIndex = 0;
    this.unstable.restore(snapshot);
    this.committed = snapshot.metadata.index;
  }

  /**
   * The last index known durable on this node: the core counts its own log only this far.
   * While a received snapshot is not yet durable, nothing after the old state is vouched for.
   */
  persistedLastIndex(): number {
    if (this.unstable.snapshot !== null) return 0;
    return this.unstable.offset - 1;
  }

  /** Records what Ready `readyId` asked the host to persist. */
  beginWrite(readyId: number, lastIndex: number, snapshotIndex: number): void {
    this.writes.push({ readyId, lastIndex, snapshotIndex });
  }

  /** The host made Ready `readyId` durable: mark what of it still belongs to the log stable. */
  completeWrite(readyId: number): void {
    const write = this.writes.shift();
    if (write === undefined || write.readyId !== readyId) {
      throw new Error(
        `raft log: advance(${readyId}) out of order (expected ${write?.readyId ?? "none"})`,
      );
    }
    if (write.snapshotIndex > 0) this.unstable.stableSnapshotTo(write.snapshotIndex);
    if (write.lastIndex > 0 && this.unstable.snapshot === null) {
      this.unstable.stableTo(write.lastIndex);
    }
  }

  pendingWriteCount(): number {
    return this.writes.length;
  }
}
