// Watch and list on the leader. Events come from the applied results (lockEventsOf), so they are
// in committed order on every node; the leader serves them so that a client follows one node and
// a deposed leader's watchers move on. A watch is a long-poll: the server keeps no per-watcher
// buffer, only the shared bounded history, and a watcher that falls behind it is told so
// (WATCH_REVISION_COMPACTED) instead of being buffered without bound.
import type { Entry } from "@dlock/raft";
import {
  ELECTION_KEY_PREFIX,
  LIST_LIMIT_DEFAULT,
  LIST_PAGE_BYTES_MAX,
  TooManyRequestsError,
  WATCH_EVENTS_MAX,
  WatchRevisionCompactedError,
} from "@dlock/protocol";
import type {
  DlockError,
  ListedLock,
  ListRequest,
  ListResult,
  WatchEvent,
  WatchRequest,
  WatchResult,
} from "@dlock/protocol";
import { lockEventsOf, multiHolderInfo } from "../lock/index.js";
import type { LockEvent, LockResult, LockStateMachine } from "../lock/index.js";
import { EventHistory } from "./event-history.js";
import { plantedWatchBugs } from "./planted-watch-bugs.js";
import type { WatchOptions } from "./watch-options.js";
import { resolveWatchOptions } from "./watch-options.js";
import type { ResolvedWatchOptions } from "./watch-options.js";

/** Timers as the lock service injects them (virtual ones in the simulator). */
export interface WatchTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export interface WatchServiceOptions {
  table: LockStateMachine;
  timers: WatchTimers;
  watch?: WatchOptions;
}

/** How long a watch waits for an event when the request names no waitMs. */
export const WATCH_WAIT_MS_DEFAULT = 10_000;

interface PendingWatch {
  connectionId: number;
  fromRevision: number;
  eventsMax: number;
  matches: (key: string) => boolean;
  timer: unknown;
  resolve: (result: WatchResult) => void;
  reject: (error: DlockError) => void;
}

export class WatchService {
  readonly options: ResolvedWatchOptions;
  private readonly table: LockStateMachine;
  private readonly timers: WatchTimers;
  private readonly history: EventHistory;
  private readonly pending = new Set<PendingWatch>();
  private eventsSentCount = 0;
  private leadershipsCount = 0;

  constructor(options: WatchServiceOptions) {
    this.options = resolveWatchOptions(options.watch);
    this.table = options.table;
    this.timers = options.timers;
    this.history = new EventHistory(
      this.options.historyEventsMax,
      this.table.appliedIndex,
      plantedWatchBugs.of(options),
    );
  }

  /** Watch long-polls waiting now. */
  get watchersCount(): number {
    return this.pending.size;
  }

  /** Events answered to watchers since start. */
  get eventsSent(): number {
    return this.eventsSentCount;
  }

  /** Grants of election keys applied since start (leaderships begun). */
  get leaderships(): number {
    return this.leadershipsCount;
  }

  /** Events held for resuming watchers. */
  get historySize(): number {
    return this.history.size;
  }

  /** Every applied batch, in order (all entries, including those that carry no lock command). */
  onApplied(entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>): void {
    for (let i = 0; i < entries.length; i++) {
      const index = entries[i]!.index;
      const result = results[i];
      const events = result === undefined ? [] : lockEventsOf(index, result);
      for (const event of events) {
        if (event.type === "granted" && event.key.startsWith(ELECTION_KEY_PREFIX)) {
          this.leadershipsCount++;
        }
      }
      this.history.append(index, events);
    }
    for (const watch of Array.from(this.pending)) {
      const read = this.read(watch.fromRevision, watch.matches, watch.eventsMax);
      if (read === null) this.finish(watch, this.compacted());
      else if (read.events.length > 0) this.finish(watch, read);
    }
  }

  /** Leader only (the caller checks). Answers at once when events are there, else waits. */
  watch(request: WatchRequest, connectionId: number): Promise<WatchResult> {
    this.catchUp();
    const key = request.key;
    const matches =
      request.prefix === true ? (k: string) => k.startsWith(key) : (k: string) => k === key;
    const fromRevision = request.fromRevision ?? this.history.applied + 1;
    const eventsMax = request.eventsMax ?? WATCH_EVENTS_MAX;
    const read = this.read(fromRevision, matches, eventsMax);
    if (read === null) return Promise.reject(this.compacted());
    const waitMs = request.waitMs ?? WATCH_WAIT_MS_DEFAULT;
    if (read.events.length > 0 || waitMs === 0) return Promise.resolve(this.sent(read));
    if (this.pending.size >= this.options.watchesMax) {
      return Promise.reject(
        new TooManyRequestsError(
          `this node already serves ${this.options.watchesMax} watches; retry later`,
          1000,
        ),
      );
    }
    let ofConnection = 0;
    for (const w of this.pending) if (w.connectionId === connectionId) ofConnection++;
    if (ofConnection >= this.options.watchesPerConnectionMax) {
      return Promise.reject(
        new TooManyRequestsError(
          `a connection may have ${this.options.watchesPerConnectionMax} watches waiting; watch a prefix instead of many keys`,
          1000,
        ),
      );
    }
    return new Promise<WatchResult>((resolve, reject) => {
      const watch: PendingWatch = {
        connectionId,
        fromRevision,
        eventsMax,
        matches,
        timer: null,
        resolve,
        reject,
      };
      watch.timer = this.timers.set(() => {
        watch.timer = null;
        const again = this.read(fromRevision, matches, eventsMax);
        this.finish(watch, again ?? this.compacted());
      }, waitMs);
      this.pending.add(watch);
    });
  }

  /** A page of locks as the table holds them now (the caller made the read linearizable). */
  list(request: ListRequest): ListResult {
    const { prefix, after } = request;
    const limit = request.limit ?? LIST_LIMIT_DEFAULT;
    const keys: string[] = [];
    for (const key of this.table.keys()) {
      if (key.startsWith(prefix) && (after === undefined || key > after)) keys.push(key);
    }
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const locks: ListedLock[] = [];
    let bytes = 0;
    for (const key of keys) {
      if (locks.length >= limit || (locks.length > 0 && bytes >= LIST_PAGE_BYTES_MAX)) break;
      const info = this.table.get(key);
      const multi = this.table.semaphoreState(key);
      // A multi-holder key's queue is its own (the lock table's waiters are exclusive locks').
      const waiters = (multi?.waiters ?? this.table.waiters(key)).map((w) => w.value);
      const listed: ListedLock = {
        key,
        value: info.value,
        fencingToken: info.held ? info.fencingToken : null,
        waiters,
        inLockDelay: info.inLockDelay,
      };
      // A semaphore's or reader-writer key's holders, as `get` shows them but without leases.
      if (multi !== undefined) {
        Object.assign(listed, multiHolderInfo(multi, []));
        for (const holder of multi.holders) bytes += 48 + holder.value.length * 3;
      }
      locks.push(listed);
      bytes += 64 + key.length * 3 + (info.value?.length ?? 0) * 3;
      for (const value of waiters) bytes += 8 + value.length * 3;
    }
    return { locks, revision: this.table.appliedIndex, more: locks.length < keys.length };
  }

  /** Leadership moved: every waiting watch is answered with `error` (the client follows). */
  failAll(error: () => DlockError): void {
    for (const watch of Array.from(this.pending)) this.finish(watch, error());
  }

  connectionClosed(connectionId: number): void {
    for (const watch of Array.from(this.pending)) {
      if (watch.connectionId === connectionId) this.finish(watch, null);
    }
  }

  /** A snapshot install moves the table on without entries: the history restarts there. */
  private catchUp(): void {
    if (this.table.appliedIndex > this.history.applied) this.history.reset(this.table.appliedIndex);
  }

  private read(
    fromRevision: number,
    matches: (key: string) => boolean,
    eventsMax: number,
  ): { events: LockEvent[]; revision: number } | null {
    return this.history.read(fromRevision, matches, eventsMax);
  }

  private compacted(): WatchRevisionCompactedError {
    return new WatchRevisionCompactedError(this.history.floor + 1);
  }

  private sent(read: { events: LockEvent[]; revision: number }): WatchResult {
    this.eventsSentCount += read.events.length;
    return { events: read.events.map(toWire), revision: read.revision };
  }

  /** Ends a waiting watch with a result, an error, or (null) silently for a closed connection. */
  private finish(
    watch: PendingWatch,
    outcome: { events: LockEvent[]; revision: number } | DlockError | null,
  ): void {
    if (!this.pending.delete(watch)) return;
    if (watch.timer !== null) this.timers.clear(watch.timer);
    watch.timer = null;
    if (outcome === null) watch.resolve({ events: [], revision: watch.fromRevision - 1 });
    else if (outcome instanceof Error) watch.reject(outcome);
    else watch.resolve(this.sent(outcome));
  }
}

function toWire(event: LockEvent): WatchEvent {
  const out: WatchEvent = {
    revision: event.revision,
    type: event.type,
    key: event.key,
    value: event.value,
    token: event.token,
  };
  if (event.reason !== undefined) out.reason = event.reason;
  if (event.mode !== undefined) out.mode = event.mode;
  if (event.permits !== undefined) out.permits = event.permits;
  if (event.count !== undefined) out.count = event.count;
  return out;
}
