import type { LockEvent } from "../lock/index.js";

/** A page of history: the matching events and the revision through which it is complete. */
export interface HistoryRead {
  events: LockEvent[];
  /** Every matching event at or below this revision is in `events` or was before `fromRevision`. */
  revision: number;
}

/**
 * The recent events of the applied log, in applied (= committed) order, bounded to `eventsMax`:
 * the oldest whole revisions are dropped first. Pure: no clock, no I/O.
 *
 * It holds every event with a revision in (floor, applied]. Revisions at or below `floor` were
 * dropped, or were applied before this history started (a restart, a snapshot install): asking
 * for them is "compacted".
 */
export class EventHistory {
  private events: LockEvent[] = [];
  private head = 0;
  private floorRevision: number;
  private appliedRevision: number;

  constructor(
    readonly eventsMax: number,
    appliedIndex = 0,
    // Deliberate bugs (planted-watch-bugs.ts), for the simulator's checker tests only.
    private readonly bugs: { splitsRevision: boolean; coversOneShort: boolean } = {
      splitsRevision: false,
      coversOneShort: false,
    },
  ) {
    this.floorRevision = appliedIndex;
    this.appliedRevision = appliedIndex;
  }

  /** Revisions at or below this are gone. */
  get floor(): number {
    return this.floorRevision;
  }

  /** The last revision appended (events or not). */
  get applied(): number {
    return this.appliedRevision;
  }

  get size(): number {
    return this.events.length - this.head;
  }

  /** Forgets everything: the next revision expected is appliedIndex + 1. */
  reset(appliedIndex: number): void {
    this.events = [];
    this.head = 0;
    this.floorRevision = appliedIndex;
    this.appliedRevision = appliedIndex;
  }

  /** Records the events of one applied entry (possibly none). An entry skipped is a reset. */
  append(revision: number, events: readonly LockEvent[]): void {
    if (revision !== this.appliedRevision + 1) this.reset(revision - 1);
    this.appliedRevision = revision;
    for (const event of events) this.events.push(event);
    this.trim();
  }

  /**
   * The events from `fromRevision` on that `matches` accepts, at most `eventsMax` of them unless
   * one revision alone has more (a revision is never split). null: `fromRevision` is compacted.
   */
  read(
    fromRevision: number,
    matches: (key: string) => boolean,
    eventsMax: number,
  ): HistoryRead | null {
    if (fromRevision <= this.floorRevision) return null;
    const out: LockEvent[] = [];
    for (let i = this.firstAtOrAfter(fromRevision); i < this.events.length; i++) {
      const event = this.events[i]!;
      if (!matches(event.key)) continue;
      if (out.length >= eventsMax && this.bugs.splitsRevision) {
        return { events: out, revision: out[out.length - 1]!.revision };
      }
      if (out.length >= eventsMax && out[out.length - 1]!.revision !== event.revision) {
        return { events: out, revision: event.revision - 1 - (this.bugs.coversOneShort ? 1 : 0) };
      }
      out.push(event);
    }
    return { events: out, revision: Math.max(this.appliedRevision, fromRevision - 1) };
  }

  private firstAtOrAfter(revision: number): number {
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private trim(): void {
    while (this.size > this.eventsMax) {
      const dropped = this.events[this.head]!.revision;
      while (this.head < this.events.length && this.events[this.head]!.revision === dropped) {
        this.head++;
      }
      this.floorRevision = dropped;
    }
    // Reclaim the dropped prefix now and then (amortised O(1) per event).
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}
