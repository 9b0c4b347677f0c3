import type { LockEvent } from "../lock/index.js";
import { KeyArena } from "../lock/key-arena.js";

/** A page of history: the matching events and the revision through which it is complete. */
export interface HistoryRead {
  events: LockEvent[];
  /** Every matching event at or below this revision is in `events` or was before `fromRevision`. */
  revision: number;
}

/** Slots of the ring when the first event arrives; it doubles up to eventsMax. */
const RING_SLOTS_FIRST = 16;

/** Each event type's code in the ring (a Record: a new type fails the build until it has one). */
const TYPE_CODE: Record<LockEvent["type"], number> = {
  granted: 0,
  released: 1,
  expired: 2,
  queued: 3,
  dequeued: 4,
  delayEnded: 5,
};
const EVENT_TYPES = Object.keys(TYPE_CODE) as Array<LockEvent["type"]>;

/**
 * The recent events of the applied log, in applied (= committed) order, bounded to `eventsMax`:
 * the oldest whole revisions are dropped first. Pure: no clock, no I/O.
 *
 * It holds every event with a revision in (floor, applied]. Revisions at or below `floor` were
 * dropped, or were applied before this history started (a restart, a snapshot install): asking
 * for them is "compacted".
 *
 * Stored in a ring of columns, not as the event objects: every node keeps the last 100,000 events
 * by default, and objects that live that long were copied by each young-generation GC, promoted,
 * and then died in the old generation, where only full GCs reclaim them (at 8,000 acquires/s,
 * a million objects a minute). Keys and values are bytes in arenas (KeyArena), for the same
 * reason: as strings they were two hundred thousand old-generation objects per node, each dying
 * some seconds after it was promoted. Plain events are rebuilt on read; the few with more fields
 * (a reason, a mode, a semaphore's share) are kept as they came.
 */
export class EventHistory {
  private revisions = new Float64Array(0);
  private tokens = new Float64Array(0);
  private types = new Uint8Array(0);
  /**
   * By the event's place in the sequence of events held, modulo eventsMax (see idOf): a ring that
   * grows moves its columns, never these.
   */
  private keys = new KeyArena();
  /** As keys; none for an event without a value. */
  private values = new KeyArena();
  /** The place in that sequence of the oldest event held (modulo eventsMax). */
  private headId = 0;
  /** The event itself where it has fields beyond the columns', else undefined. */
  private whole: Array<LockEvent | undefined> = [];
  /** Ring position of the oldest event held. */
  private head = 0;
  private count = 0;
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
    return this.count;
  }

  /** Forgets everything: the next revision expected is appliedIndex + 1. */
  reset(appliedIndex: number): void {
    this.resize(0);
    this.floorRevision = appliedIndex;
    this.appliedRevision = appliedIndex;
  }

  /** Records the events of one applied entry (possibly none). An entry skipped is a reset. */
  append(revision: number, events: readonly LockEvent[]): void {
    if (revision !== this.appliedRevision + 1) this.reset(revision - 1);
    this.appliedRevision = revision;
    if (events.length === 0) return;
    if (events.length > this.eventsMax) {
      // More than the bound alone: this revision goes with everything before it.
      this.resize(0);
      this.floorRevision = revision;
      return;
    }
    while (this.count + events.length > this.eventsMax) this.dropOldestRevision();
    if (this.count + events.length > this.revisions.length) {
      let slots = Math.max(this.revisions.length, RING_SLOTS_FIRST);
      while (slots < this.count + events.length) slots *= 2;
      this.resize(Math.min(slots, this.eventsMax));
    }
    for (const event of events) {
      const id = this.idOf(this.count);
      const at = this.slotOf(this.count++);
      this.revisions[at] = event.revision;
      this.tokens[at] = event.token;
      this.types[at] = TYPE_CODE[event.type];
      this.keys.put(id, event.key);
      if (event.value !== null) this.values.put(id, event.value);
      this.whole[at] = isPlain(event) ? undefined : event;
    }
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
    for (let i = this.firstAtOrAfter(fromRevision); i < this.count; i++) {
      const at = this.slotOf(i);
      const key = this.keys.at(this.idOf(i)) as string;
      if (!matches(key)) continue;
      const revision = this.revisions[at]!;
      if (out.length >= eventsMax && this.bugs.splitsRevision) {
        return { events: out, revision: out[out.length - 1]!.revision };
      }
      if (out.length >= eventsMax && out[out.length - 1]!.revision !== revision) {
        return { events: out, revision: revision - 1 - (this.bugs.coversOneShort ? 1 : 0) };
      }
      out.push(this.eventAt(at, key, this.idOf(i)));
    }
    return { events: out, revision: Math.max(this.appliedRevision, fromRevision - 1) };
  }

  private eventAt(at: number, key: string, id: number): LockEvent {
    return (
      this.whole[at] ?? {
        revision: this.revisions[at]!,
        type: EVENT_TYPES[this.types[at]!]!,
        key,
        value: this.values.at(id) ?? null,
        token: this.tokens[at]!,
      }
    );
  }

  /**
   * The arena id of the i-th event held (0: the oldest). Events come and go first in, first out,
   * and at most eventsMax are held, so an id is free again before the sequence comes back to it.
   */
  private idOf(i: number): number {
    return (this.headId + i) % this.eventsMax;
  }

  /** The ring position of the i-th event held (0: the oldest). */
  private slotOf(i: number): number {
    const at = this.head + i;
    return at < this.revisions.length ? at : at - this.revisions.length;
  }

  private firstAtOrAfter(revision: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.revisions[this.slotOf(mid)]! < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropOldestRevision(): void {
    const dropped = this.revisions[this.head]!;
    while (this.count > 0 && this.revisions[this.head] === dropped) {
      // Let go of the event now: a quiet history would hold it for long.
      this.keys.remove(this.headId);
      this.values.remove(this.headId);
      this.headId = this.idOf(1);
      this.whole[this.head] = undefined;
      this.head = this.slotOf(1);
      this.count--;
    }
    this.floorRevision = dropped;
  }

  /** Moves the events held into a ring of `slots` (at least count) starting at 0. */
  private resize(slots: number): void {
    const count = Math.min(this.count, slots);
    const revisions = new Float64Array(slots);
    const tokens = new Float64Array(slots);
    const types = new Uint8Array(slots);
    const whole = new Array<LockEvent | undefined>(slots).fill(undefined);
    for (let i = 0; i < count; i++) {
      const at = this.slotOf(i);
      revisions[i] = this.revisions[at]!;
      tokens[i] = this.tokens[at]!;
      types[i] = this.types[at]!;
      whole[i] = this.whole[at];
    }
    this.revisions = revisions;
    this.tokens = tokens;
    this.types = types;
    if (count === 0) {
      this.keys.clear();
      this.values.clear();
      this.headId = 0;
    }
    this.whole = whole;
    this.head = 0;
    this.count = count;
  }
}

/** Whether `event` has only the fields the columns hold (as lock-events.ts builds most). */
function isPlain(event: LockEvent): boolean {
  return (
    event.reason === undefined &&
    event.mode === undefined &&
    event.permits === undefined &&
    event.count === undefined
  );
}
