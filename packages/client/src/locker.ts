// The entry point: a Locker talks to one cluster and hands out Locks.
import { setMaxListeners } from "node:events";
import type {
  ForceReleaseResult,
  GetResult,
  ListResult,
  MembersResult,
  ReleaseResult,
  StatusResult,
  WatchEvent,
} from "@dlock/protocol";
import {
  AbortedError,
  InvalidArgumentError,
  LIST_LIMIT_MAX,
  LockBusyError,
  LockLostError,
  NotOwnerError,
  validateHostPort,
  validateId,
  validateKey,
  validateKeyPrefix,
  validateToken,
  validateValue,
} from "@dlock/protocol";
import type { RequestWithoutId } from "./connection.js";
import { abortReason, sleep } from "./clock.js";
import { LockHandle } from "./lock.js";
import type { LockOption, LockOptions, ResolvedLockOptions } from "./lock-options.js";
import { mergeLockOptions, resolveLockOptions } from "./lock-options.js";
import type { SemaphoreOptions } from "./semaphore-options.js";
import { resolveSemaphoreCounts } from "./semaphore-options.js";
import type { LockerOptions } from "./locker-options.js";
import { LockerEventEmitter } from "./locker-events.js";
import type { LockerEventListener, LockerEventName } from "./locker-events.js";
import type { ResolvedLockerOptions } from "./resolve-locker-options.js";
import { resolveLockerOptions } from "./resolve-locker-options.js";
import { Router } from "./router.js";
import type { Grant, Lock } from "./types.js";
import { validUntilMs } from "./validity.js";
import type { WatchOptions } from "./watch-options.js";
import type { CampaignOptions, Leader, Leadership, ObserveOptions } from "./election.js";
import { DEFAULT_CAMPAIGN_WAIT_MS, electionKey, leadershipOf } from "./election.js";
import { watchRequestOf, watchStream } from "./watch-stream.js";

/** What a semaphore's or reader-writer lock's acquire request adds to a lock's. */
type SharedAcquire =
  | { type: "semaphoreAcquire"; permits: number; count: number }
  | { type: "rwAcquire"; mode: "read" | "write" };

/** The options of a lock call: objects, option functions (`withTTL(...)`), or both. */
type LockArgs = Array<LockOptions | LockOption>;
/** Work run while holding a lock (withLock and its kin). */
type Holding<T> = (lock: Lock) => Promise<T> | T;

const RW_READ = { type: "rwAcquire", mode: "read" } as const;
const RW_WRITE = { type: "rwAcquire", mode: "write" } as const;

export interface CallSignalOptions {
  signal?: AbortSignal;
}

export interface ReleaseKeyOptions extends CallSignalOptions {
  /** Release only this grant; without it, whatever grant `value` holds. */
  token?: number;
}

export interface ListOptions extends CallSignalOptions {
  /** Most locks in the page (1..1000). Default 100. */
  limit?: number;
  /** Start after this key (the last key of the previous page). */
  after?: string;
}

export class Locker {
  private readonly options: ResolvedLockerOptions;
  private readonly router: Router;
  private readonly locks = new Set<LockHandle>();
  private readonly closeController = new AbortController();
  /** signalFor's combined signals, by the caller's signal. */
  private readonly combinedSignals = new WeakMap<AbortSignal, AbortSignal>();
  private readonly events = new LockerEventEmitter();
  private lockCalls = 0;

  /** Throws InvalidArgumentError naming the bad option. Connects lazily, on the first request. */
  constructor(options: LockerOptions) {
    this.options = resolveLockerOptions(options);
    this.router = new Router(this.options, this.events);
    // Every request in flight listens on this signal: hundreds at once are normal, not a leak
    // (Node warns past 10 listeners otherwise).
    setMaxListeners(0, this.closeController.signal);
  }

  /** This locker's client id (also the prefix of its acquire request ids). */
  get clientId(): string {
    return this.options.clientId;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.closeController.signal.aborted;
  }

  /**
   * Listens to what happens inside the locker: `connected`, `leaderChanged`, `refreshFailed`,
   * `lockLost` (see LockerEvents). For logs and metrics; a throwing listener is ignored. Returns
   * a function that removes the listener.
   */
  on<E extends LockerEventName>(event: E, listener: LockerEventListener<E>): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Takes `key` for `value` and keeps it refreshed until released or lost. Options are an
   * object, option functions (`withTTL(...)`), or both. Rejects with LockBusyError after
   * `retryLimit` retries spaced by `retryInterval` (or after `wait` in the queue),
   * InvalidArgumentError for bad input, AbortedError when `signal` aborts,
   * ClusterUnavailableError when no leader answers in time.
   */
  async lock(
    key: string,
    value: string,
    ...options: Array<LockOptions | LockOption>
  ): Promise<Lock> {
    return this.hold(key, value, this.resolve(key, value, options), null);
  }

  /**
   * Takes `count` (default 1) of the `permits` permits of the counting semaphore `key` for
   * `value`, and keeps them refreshed until released or lost, exactly as `lock()` keeps a lock:
   * the same options (ttl, wait, retries, signal) and the same Lock object (fencingToken, signal,
   * refresh, release). Up to N permits are held at once; waiters are served in FIFO order, a
   * waiter needing k permits blocking those behind it. Each value holds at most one grant per key.
   * Rejects with PermitsMismatchError when the key's users use another N, KindMismatchError when
   * the key is in use as a lock, and else as lock() does.
   */
  async semaphore(key: string, value: string, options: SemaphoreOptions): Promise<Lock> {
    const counts = resolveSemaphoreCounts(options);
    const { permits: _permits, count: _count, ...lockOptions } = options;
    const shared = { type: "semaphoreAcquire" as const, ...counts };
    return this.hold(key, value, this.resolve(key, value, [lockOptions]), shared);
  }

  /** Runs `fn` holding permits of `key` (as `withLock` does for a lock) and always releases them. */
  async withSemaphore<T>(
    key: string,
    value: string,
    options: SemaphoreOptions,
    fn: (permit: Lock) => Promise<T> | T,
  ): Promise<T> {
    if (typeof fn !== "function") throw new InvalidArgumentError("fn", "must be a function");
    return this.runHolding(key, await this.semaphore(key, value, options), fn);
  }

  /**
   * Takes the reader-writer lock `key` for `value` as a reader, and keeps it refreshed until
   * released or lost, exactly as `lock()` keeps a lock (same options, same Lock object). Readers
   * share the key; a writer holds it alone. FIFO fair: a reader arriving while a writer waits
   * queues behind that writer (with `wait`; else LockBusyError), so writers are never starved.
   * The fencing token is greater than every earlier grant's on the key (readers granted together
   * share one). Rejects with KindMismatchError when the key is in use as a lock or semaphore,
   * InvalidArgumentError (field `mode`) when `value` already holds or waits for it as a writer,
   * and else as lock() does.
   */
  readLock(key: string, value: string, ...options: LockArgs): Promise<Lock> {
    return this.hold(key, value, this.resolve(key, value, options), RW_READ);
  }

  /**
   * Takes the reader-writer lock `key` for `value` as its writer: alone, no reader or other
   * writer holds it meanwhile. Otherwise as `readLock()`.
   */
  writeLock(key: string, value: string, ...options: LockArgs): Promise<Lock> {
    return this.hold(key, value, this.resolve(key, value, options), RW_WRITE);
  }

  /** Runs `fn` holding `key` as a reader (as `withLock` does for a lock) and always releases it. */
  withReadLock<T>(key: string, value: string, fn: Holding<T>, ...options: LockArgs): Promise<T> {
    return this.withRw(RW_READ, key, value, fn, options);
  }

  /** Runs `fn` holding `key` as its writer and always releases it. */
  withWriteLock<T>(key: string, value: string, fn: Holding<T>, ...options: LockArgs): Promise<T> {
    return this.withRw(RW_WRITE, key, value, fn, options);
  }

  private async withRw<T>(
    mode: typeof RW_READ | typeof RW_WRITE,
    key: string,
    value: string,
    fn: Holding<T>,
    options: LockArgs,
  ): Promise<T> {
    if (typeof fn !== "function") throw new InvalidArgumentError("fn", "must be a function");
    const lock = await this.hold(key, value, this.resolve(key, value, options), mode);
    return this.runHolding(key, lock, fn);
  }

  private async hold(
    key: string,
    value: string,
    resolved: ResolvedLockOptions,
    shared: SharedAcquire | null,
  ): Promise<Lock> {
    let grant = await this.acquireResolved(key, value, resolved, shared);
    // A grant that waited in the queue (or a slow answer) may leave little validity that we can
    // prove; refresh at once, from a send time we know, before handing the lock out.
    const fullValidityMs = grant.ttlMs * (1 - this.options.driftFactor) - this.options.marginMs;
    if (grant.validUntilMs - this.options.clock.now() < fullValidityMs / 2) {
      grant = await this.confirm(grant, resolved.signal);
    }
    const handle = new LockHandle({
      key,
      value,
      fencingToken: grant.fencingToken,
      ttlMs: grant.ttlMs,
      refreshIntervalMs: resolved.refreshIntervalMs,
      validUntilMs: grant.validUntilMs,
      sentAtMs: grant.sentAtMs,
      router: this.router,
      options: this.options,
      onSettled: (lock) => this.locks.delete(lock),
      events: this.events,
    });
    if (this.closed) {
      handle.abandon("the locker closed");
      throw new AbortedError("the locker is closed");
    }
    this.locks.add(handle);
    return handle;
  }

  /**
   * Takes `key` for `value` (as `lock()` does, with the same options), runs `fn` with the lock
   * and always releases it, also when `fn` throws. Resolves with what `fn` returns.
   *
   * `fn` gets the Lock: `lock.fencingToken` for the resource, `lock.signal`, which aborts (with a
   * LockLostError) if the lock is lost while `fn` runs; stop working then. Errors: the acquire's
   * (LockBusyError, ...); else `fn`'s error, if it threw (a failed release never masks it); else
   * the LockLostError when the lock was lost before `fn` finished (its work was not protected
   * throughout); else the release's error (the lease then ends by its ttl).
   */
  async withLock<T>(
    key: string,
    value: string,
    fn: (lock: Lock) => Promise<T> | T,
    ...options: Array<LockOptions | LockOption>
  ): Promise<T> {
    if (typeof fn !== "function") throw new InvalidArgumentError("fn", "must be a function");
    return this.runHolding(key, await this.lock(key, value, ...options), fn);
  }

  private async runHolding<T>(
    key: string,
    lock: Lock,
    fn: (lock: Lock) => Promise<T> | T,
  ): Promise<T> {
    let result: T;
    try {
      result = await fn(lock);
    } catch (error) {
      await lock.release().catch(() => {
        // fn's error is the one to report; an unreleased lease ends by its ttl.
      });
      throw error;
    }
    const outcome = await lock.release();
    if (outcome.lost) {
      const reason: unknown = lock.signal.reason;
      throw reason instanceof LockLostError
        ? reason
        : new LockLostError(key, `lock "${key}" was lost before the work finished`);
    }
    return result;
  }

  /**
   * Takes `key` for `value` once, without refreshing it or tracking it: the lease ends by its
   * ttl unless refreshed through another call. For tools that print the token and exit.
   */
  async acquire(
    key: string,
    value: string,
    ...options: Array<LockOptions | LockOption>
  ): Promise<Grant> {
    return this.acquireResolved(key, value, this.resolve(key, value, options));
  }

  /** Takes permits of the semaphore `key` once, as `acquire()` takes a lock once. */
  async acquireSemaphore(key: string, value: string, options: SemaphoreOptions): Promise<Grant> {
    const counts = resolveSemaphoreCounts(options);
    const { permits: _permits, count: _count, ...lockOptions } = options;
    const shared = { type: "semaphoreAcquire" as const, ...counts };
    return this.acquireResolved(key, value, this.resolve(key, value, [lockOptions]), shared);
  }

  /** Takes the reader-writer lock `key` once in `mode`, as `acquire()` takes a lock once. */
  async acquireRw(
    key: string,
    value: string,
    mode: "read" | "write",
    ...options: LockArgs
  ): Promise<Grant> {
    if (mode !== "read" && mode !== "write")
      throw new InvalidArgumentError("mode", `must be "read" or "write", got ${String(mode)}`);
    const shared = mode === "read" ? RW_READ : RW_WRITE;
    return this.acquireResolved(key, value, this.resolve(key, value, options), shared);
  }

  /** A linearizable read of `key`. */
  async get(key: string, options: CallSignalOptions = {}): Promise<GetResult> {
    validateKey(key);
    const { result } = await this.router.call<"get">(
      { type: "get", key },
      { deadlineMs: this.deadline(0), signal: this.signalFor(options.signal) },
    );
    return result;
  }

  /**
   * A linearizable page of the locks whose keys start with `prefix` ("" = all), in key order:
   * holders, tokens, waiters, and the `revision` it was read at. `more`: ask again with `after`
   * = the last key. To follow the keys from there, `watch(prefix, { prefix: true,
   * fromRevision: revision + 1 })`.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    validateKeyPrefix(prefix);
    const request: RequestWithoutId<"list"> = { type: "list", prefix };
    if (options.after !== undefined) request.after = validateKey(options.after, "after");
    if (options.limit !== undefined) {
      if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > LIST_LIMIT_MAX) {
        throw new InvalidArgumentError("limit", `must be a whole number in [1, ${LIST_LIMIT_MAX}]`);
      }
      request.limit = options.limit;
    }
    const { result } = await this.router.call<"list">(request, {
      deadlineMs: this.deadline(0),
      signal: this.signalFor(options.signal),
    });
    return result;
  }

  /**
   * The changes of `key` (or, with `prefix: true`, of every key starting with it) as an async
   * iterable, in committed order: granted, released, expired, queued, dequeued, delayEnded, each
   * with its `revision`. Follows the leader and resumes after reconnects without a gap or a
   * duplicate; ends when `signal` aborts or the locker closes. Throws
   * WatchRevisionCompactedError when `fromRevision` is older than the leader's history (list,
   * then watch from the list's revision + 1), ClusterUnavailableError when no leader answers.
   */
  watch(key: string, options: WatchOptions = {}): AsyncIterable<WatchEvent> {
    const request = watchRequestOf(key, options);
    return watchStream(request, {
      router: this.router,
      deadline: (waitMs) => this.deadline(waitMs),
      requestTimeoutMs: this.options.requestTimeoutMs,
      signal: this.signalFor(options.signal),
    });
  }

  /**
   * Waits to lead election `name` (the lock `election/<name>`, queued FIFO) and returns the
   * leadership: a Lock with its fencing token (tokens of later leaderships are greater), refreshed
   * until `resign()`, or lost (its `signal` aborts). `value` says who leads to observers and must
   * be unique per candidate (two candidates with one value would share the leadership).
   */
  async campaign(name: string, value: string, options: CampaignOptions = {}): Promise<Leadership> {
    const key = electionKey(name);
    validateValue(value);
    const lockOptions: LockOptions = { wait: options.wait ?? DEFAULT_CAMPAIGN_WAIT_MS };
    if (options.ttl !== undefined) lockOptions.ttl = options.ttl;
    if (options.signal !== undefined) lockOptions.signal = options.signal;
    for (;;) {
      try {
        return leadershipOf(name, await this.lock(key, value, lockOptions));
      } catch (error) {
        // The wait of one attempt ran out: stay in the race.
        if (error instanceof LockBusyError && !(options.signal?.aborted ?? false)) continue;
        throw error;
      }
    }
  }

  /**
   * The leaders of election `name` as an async iterable: first who leads now (null: nobody),
   * then each change in committed order. Every end of a leadership yields null, also when the
   * next leader starts in the same step (a release or expiry that grants the next candidate
   * yields null, then that leader, both at one revision). Ends when `signal` aborts or the locker
   * closes.
   */
  async *observe(name: string, options: ObserveOptions = {}): AsyncGenerator<Leader | null> {
    const key = electionKey(name);
    const signal = this.signalFor(options.signal);
    let page;
    try {
      page = await this.list(key, { limit: 1, signal });
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    const lock = page.locks[0]?.key === key ? page.locks[0] : undefined;
    let current: Leader | null =
      lock !== undefined && lock.fencingToken !== null
        ? { value: lock.value, fencingToken: lock.fencingToken }
        : null;
    yield current;
    const skew = this.options.plantedBugs.observeFromListRevision ? 0 : 1;
    const events = this.watch(key, { fromRevision: page.revision + skew, signal });
    const oneChangePerRevision = this.options.plantedBugs.observeOneChangePerRevision;
    let reportedRevision = page.revision;
    for await (const event of events) {
      if (oneChangePerRevision && event.revision === reportedRevision) continue;
      if (event.type === "granted") current = { value: event.value, fencingToken: event.token };
      else if (event.type === "released" || event.type === "expired") current = null;
      else continue;
      reportedRevision = event.revision;
      yield current;
    }
  }

  /** The cluster's members, roles, leader and indexes, as the answering node sees them. */
  async status(options: CallSignalOptions = {}): Promise<StatusResult> {
    const { result } = await this.router.call<"status">(
      { type: "status" },
      { deadlineMs: this.deadline(0), signal: this.signalFor(options.signal) },
    );
    return result;
  }

  // ---- membership (admin) -----------------------------------------------------------------
  // Answered by the leader once the change is committed. A refused change rejects with
  // ConfigChangeRefusedError (its `refusal` says why: one change at a time, not caught up, ...).

  /** The members (voters and learners), their addresses and progress, as the leader sees them. */
  async members(options: CallSignalOptions = {}): Promise<MembersResult> {
    return this.membership({ type: "members" }, options);
  }

  /**
   * Adds `nodeId`, reachable on its peer port at `peerAddress` ("host:port"), as a learner: it
   * receives the log (or a snapshot) but does not vote until promoted. Start it with `--join`.
   * Adding the same learner at the same address again is a no-op.
   */
  async addMember(
    nodeId: string,
    peerAddress: string,
    options: CallSignalOptions = {},
  ): Promise<MembersResult> {
    return this.membership(
      {
        type: "addMember",
        nodeId: validateId(nodeId, "nodeId"),
        peerAddress: validateHostPort(peerAddress, "peerAddress"),
      },
      options,
    );
  }

  /** Makes the learner `nodeId` a voter; refused (notCaughtUp) until it has caught up. */
  async promoteMember(nodeId: string, options: CallSignalOptions = {}): Promise<MembersResult> {
    return this.membership(
      { type: "promoteMember", nodeId: validateId(nodeId, "nodeId") },
      options,
    );
  }

  /** Removes `nodeId`. Removing the leader makes it step down once the removal is committed. */
  async removeMember(nodeId: string, options: CallSignalOptions = {}): Promise<MembersResult> {
    return this.membership({ type: "removeMember", nodeId: validateId(nodeId, "nodeId") }, options);
  }

  private async membership<T extends "members" | "addMember" | "promoteMember" | "removeMember">(
    request: RequestWithoutId<T>,
    options: CallSignalOptions,
  ): Promise<MembersResult> {
    const { result } = await this.router.call<T>(request, {
      deadlineMs: this.deadline(0),
      signal: this.signalFor(options.signal),
    });
    return result as MembersResult;
  }

  /**
   * Releases `key` held by `value` (only grant `token` when given) without a Lock object, e.g.
   * from another process. `released: false` means it was not held so: nothing was changed.
   */
  async release(
    key: string,
    value: string,
    options: ReleaseKeyOptions = {},
  ): Promise<ReleaseResult> {
    validateKey(key);
    validateValue(value);
    const request =
      options.token === undefined
        ? { type: "release" as const, key, value }
        : { type: "release" as const, key, value, token: validateToken(options.token) };
    const { result } = await this.router.call<"release">(request, {
      deadlineMs: this.deadline(0),
      signal: this.signalFor(options.signal),
    });
    return result;
  }

  /**
   * Admin only: frees `key` whoever holds it (only grant `token` when given), through the log,
   * and says which grant it freed (`fencingToken`). The leader audits it in its log. Without
   * the admin role: PermissionDeniedError. `released: false`: the key was not held (so).
   */
  async forceRelease(key: string, options: ReleaseKeyOptions = {}): Promise<ForceReleaseResult> {
    validateKey(key);
    const request =
      options.token === undefined
        ? { type: "forceRelease" as const, key }
        : { type: "forceRelease" as const, key, token: validateToken(options.token) };
    const { result } = await this.router.call<"forceRelease">(request, {
      deadlineMs: this.deadline(0),
      signal: this.signalFor(options.signal),
    });
    return result;
  }

  /**
   * Closes the connection. Pending calls fail with AbortedError; held locks are reported lost
   * (their signal aborts) because nothing refreshes them any more. It does not release them:
   * release first, as in `try { ... } finally { await lock.release() }`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closeController.abort(new AbortedError("the locker is closed"));
    for (const lock of [...this.locks]) lock.abandon("the locker closed");
    this.locks.clear();
    this.router.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private resolve(
    key: string,
    value: string,
    options: ReadonlyArray<LockOptions | LockOption>,
  ): ResolvedLockOptions {
    validateKey(key);
    validateValue(value);
    return resolveLockOptions(mergeLockOptions(options), this.options);
  }

  private async acquireResolved(
    key: string,
    value: string,
    resolved: ResolvedLockOptions,
    shared: SharedAcquire | null = null,
  ): Promise<Grant> {
    const { clock } = this.options;
    const signal = this.signalFor(resolved.signal ?? undefined);
    const callNumber = ++this.lockCalls;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw abortReason(signal);
      // A fresh id per attempt: a server that remembers answers by request id must not replay
      // an earlier LOCK_BUSY; within an attempt, retries after a lost connection reuse it.
      const requestId = `${this.options.clientId}/${callNumber}.${attempt}`;
      const base = { key, value, ttlMs: resolved.ttlMs, requestId };
      const withWait = resolved.waitMs > 0 ? { ...base, waitMs: resolved.waitMs } : base;
      const request =
        shared === null ? { type: "acquire" as const, ...withWait } : { ...withWait, ...shared };
      try {
        const { result, sentAtMs } = await this.router.call<
          "acquire" | "semaphoreAcquire" | "rwAcquire"
        >(request, {
          deadlineMs: this.deadline(resolved.waitMs),
          attemptTimeoutMs: this.options.requestTimeoutMs + resolved.waitMs,
          signal,
          // Granted just as the caller gave up: give it back rather than let it block others.
          onLateResult: (late) => this.releaseQuietly(key, value, late.fencingToken),
        });
        return {
          key,
          value,
          fencingToken: result.fencingToken,
          ttlMs: result.ttlMs,
          validUntilMs: validUntilMs({
            sentAtMs,
            repliedAtMs: clock.now(),
            ttlMs: result.ttlMs,
            waitedMs: result.waitedMs,
            driftFactor: this.options.driftFactor,
            marginMs: this.options.marginMs,
            plantedBugs: this.options.plantedBugs,
          }),
          sentAtMs,
          attempts: attempt + 1,
        };
      } catch (error) {
        if (error instanceof AbortedError && resolved.waitMs > 0) {
          this.cancelQuietly(key, value, requestId);
        }
        if (shared !== null && error instanceof InvalidArgumentError && error.field === "type") {
          const what = shared.type === "rwAcquire" ? "reader-writer locks" : "semaphores";
          throw new InvalidArgumentError(
            "type",
            `the server does not support ${what}; upgrade every node of the cluster`,
            { cause: error },
          );
        }
        if (!(error instanceof LockBusyError)) throw error;
        if (attempt >= resolved.retryLimit) {
          const busy = busyMessage(key, shared);
          throw new LockBusyError(key, `${busy} (gave up after ${attempt + 1} attempts)`);
        }
        // Jitter: holders that lost the same race do not all come back at the same moment.
        // No draw when jitter is off: the random source's other users see the same sequence.
        const jitterMs =
          resolved.retryJitterMs > 0 ? this.options.random() * resolved.retryJitterMs : 0;
        await sleep(clock, resolved.retryIntervalMs + jitterMs, signal);
      }
    }
  }

  /** Refreshes a fresh grant to measure its validity from a known send time. */
  private async confirm(grant: Grant, callerSignal: AbortSignal | null): Promise<Grant> {
    const { key, value, fencingToken } = grant;
    try {
      const { result, sentAtMs } = await this.router.call<"refresh">(
        { type: "refresh", key, value, token: fencingToken, ttlMs: grant.ttlMs },
        { deadlineMs: this.deadline(0), signal: this.signalFor(callerSignal ?? undefined) },
      );
      const confirmedUntilMs = validUntilMs({
        sentAtMs,
        repliedAtMs: this.options.clock.now(),
        ttlMs: result.ttlMs,
        waitedMs: 0,
        driftFactor: this.options.driftFactor,
        marginMs: this.options.marginMs,
        plantedBugs: this.options.plantedBugs,
      });
      return {
        ...grant,
        ttlMs: result.ttlMs,
        validUntilMs: Math.max(grant.validUntilMs, confirmedUntilMs),
        sentAtMs,
      };
    } catch (error) {
      if (error instanceof NotOwnerError) {
        throw new LockLostError(key, `lock "${key}" was granted but lost before it was confirmed`, {
          cause: error,
        });
      }
      this.releaseQuietly(key, value, fencingToken);
      throw error;
    }
  }

  private deadline(waitMs: number): number {
    return this.options.clock.now() + this.options.unavailableTimeoutMs + waitMs;
  }

  private signalFor(signal: AbortSignal | undefined): AbortSignal {
    const closeSignal = this.closeController.signal;
    if (signal === undefined) return closeSignal;
    // One combined signal per caller signal, made on its first use: AbortSignal.any is costly
    // (it tracks its sources weakly), and a caller tends to pass one signal to many calls.
    let combined = this.combinedSignals.get(signal);
    if (combined === undefined) {
      combined = AbortSignal.any([signal, closeSignal]);
      // Every call in flight under the caller's signal listens on it (see the constructor).
      setMaxListeners(0, combined);
      this.combinedSignals.set(signal, combined);
    }
    return combined;
  }

  private releaseQuietly(key: string, value: string, token: number): void {
    if (this.closed) return;
    this.router
      .call<"release">({ type: "release", key, value, token }, { deadlineMs: this.deadline(0) })
      .catch(() => {
        // Best effort: otherwise the lease ends by its ttl.
      });
  }

  private cancelQuietly(key: string, value: string, requestId: string): void {
    if (this.closed) return;
    this.router
      .call<"cancel">({ type: "cancel", key, value, requestId }, { deadlineMs: this.deadline(0) })
      .then(({ result }) => {
        // The wait ended in a grant before the cancel (its answer was lost or came too late):
        // nobody will use it, so give it back rather than leave the key held for a whole TTL.
        if (!result.cancelled && result.fencingToken !== undefined) {
          this.releaseQuietly(key, value, result.fencingToken);
        }
      })
      .catch(() => {
        // Best effort: otherwise the server drops the waiter when its wait runs out.
      });
  }
}

/** Why an acquire of `key` gave up, in the words of what it asked for. */
function busyMessage(key: string, shared: SharedAcquire | null): string {
  if (shared === null) return `lock "${key}" is held by another holder`;
  if (shared.type === "rwAcquire") {
    return shared.mode === "read"
      ? `reader-writer lock "${key}" admits no reader now (a writer holds it or waits, or the readers are at their limit)`
      : `reader-writer lock "${key}" is held`;
  }
  return `semaphore "${key}" has ${shared.count === 1 ? "no free permit" : `fewer than ${shared.count} free permits`}`;
}
