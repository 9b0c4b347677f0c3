import type { Lock, LockOptions } from "@dlock/client";
import type { ClientPlantedBugs } from "@dlock/client/internal";
import type { Locker } from "@dlock/client";
import { DlockError, ELECTION_KEY_PREFIX, InvalidArgumentError } from "@dlock/protocol";
import type { Prng } from "../prng.js";
import type { AsyncWorld } from "./async-world.js";
import type { SimClientNetwork } from "./client-network.js";
import type { FencedResource } from "./fenced-resource.js";
import type { Belief, LockHistory } from "./lock-history.js";
import type { ClientOp, ClientPlan } from "./lock-plan.js";
import { SimProcessBase, SimProcessClock, wallClockView } from "./sim-process.js";
import { createLocker } from "@dlock/client/internal";

/** Timeouts of the simulated Lockers (virtual ms), scaled to the simulated cluster. */
export interface SimLockerTimeouts {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  unavailableTimeoutMs: number;
  reconnectDelayMsMin: number;
  reconnectDelayMsMax: number;
}

export interface LockClientOptions {
  name: string;
  plan: ClientPlan;
  world: AsyncWorld;
  network: SimClientNetwork;
  history: LockHistory;
  resource: FencedResource;
  random: Prng;
  rate: number;
  clockOriginMs: number;
  endpoints: string[];
  keyName: (key: number) => string;
  /** N of a key: 0 for a lock key, else the semaphore's permits. */
  permitsOf: (key: number) => number;
  /** Is the key the reader-writer key? */
  isRwKey: (key: number) => boolean;
  driftFactor: number;
  marginMs: number;
  timeouts: SimLockerTimeouts;
  bugs: ClientPlantedBugs;
  usesWallClock: boolean;
  counters: LockClientCounters;
  /** A Locker call failed with something other than a typed dlock error: a client bug. */
  onUnexpectedError: (client: string, error: unknown) => void;
}

/** What the clients did, summed over all of them. */
export interface LockClientCounters {
  locksTaken: number;
  grantsTaken: number;
  locksLost: number;
  busy: number;
  unavailable: number;
  otherErrors: number;
  reads: number;
  staleReleasesRefused: number;
  lateRefreshes: number;
  writesIssued: number;
  renewals: number;
  /** Semaphore grants (each of one or more permits) handed to the application. */
  permitGrantsTaken: number;
  /** Reader-writer grants (as a reader or as the writer) handed to the application. */
  rwGrantsTaken: number;
  /** Leaderships won by campaigning, and leaders reported by observers. */
  leadershipsTaken: number;
  leadersObserved: number;
}

export function emptyClientCounters(): LockClientCounters {
  return {
    locksTaken: 0,
    grantsTaken: 0,
    locksLost: 0,
    busy: 0,
    unavailable: 0,
    otherErrors: 0,
    reads: 0,
    staleReleasesRefused: 0,
    lateRefreshes: 0,
    writesIssued: 0,
    renewals: 0,
    permitGrantsTaken: 0,
    rwGrantsTaken: 0,
    leadershipsTaken: 0,
    leadersObserved: 0,
  };
}

/** Pause between a liveness probe's attempts on a busy key. */
const PROBE_RETRY_MS = 20;

/** How a liveness probe of one key ended. */
export interface ProbeOutcome {
  /** True time the key was granted (null: never). */
  grantedMs: number | null;
  /**
   * A semaphore acquire the cluster refused on its permit count (INVALID_ARGUMENT, field
   * "permits"): the table limits in force allow fewer permits than the key is used with, so no
   * retry can take it. The checker confirms the refusal against the replicated limits.
   */
  refused: { permits: number; atMs: number } | null;
}

/** A call into the Locker that has not settled yet (liveness after heal checks these). */
export interface PendingCall {
  client: string;
  what: string;
  startedMs: number;
  settledMs: number | null;
}

/**
 * A simulated application process: a real Locker on the process's drifting clock and the
 * simulated client network, running its plan's operations one after another. It does fenced
 * work while it holds a lock: before each write to the resource it checks that the lock is still
 * valid, as an application should. A crash kills the process (its Locker, timers and
 * connections); after a restart a new Locker continues with the next operation.
 */
export class SimLockClient extends SimProcessBase {
  readonly name: string;
  readonly clock: SimProcessClock;
  /** Calls into the Locker in progress. */
  readonly pending = new Set<PendingCall>();
  /** When set, every call started is appended (the liveness phase follows them all). */
  trackedCalls: PendingCall[] | null = null;
  private locker: Locker | null = null;
  /** Lockers of incarnations that crashed: their calls never settle (see closeLockers). */
  private readonly crashedLockers: Locker[] = [];
  private nextOp = 0;
  private valueNumber = 0;
  private stopping = false;
  private stopController = new AbortController();
  /** The last grant of each key this incarnation obtained (for staleRelease). */
  private readonly lastGrant = new Map<string, { value: string; token: number; belief: Belief }>();
  private programDone = true;

  constructor(private readonly options: LockClientOptions) {
    super();
    this.name = options.name;
    this.clock = new SimProcessClock(options.world, this, options.rate, options.clockOriginMs);
  }

  /** The program ran to its end (or the client is winding down and finished). */
  get idle(): boolean {
    return this.programDone && this.pending.size === 0;
  }

  start(): void {
    if (this.status !== "down") return;
    const incarnation = this.beginIncarnation();
    this.lastGrant.clear();
    this.stopController = new AbortController();
    const options = this.options;
    const random = options.random;
    this.locker = createLocker({
      endpoints: options.endpoints,
      clientId: `${this.name}-${this.incarnation}`,
      clock: options.usesWallClock ? wallClockView(this.clock) : this.clock,
      transport: options.network.transportFor(this),
      random: () => random.float(),
      driftFactor: options.driftFactor,
      marginMs: options.marginMs,
      plantedBugs: options.bugs,
      ...options.timeouts,
    });
    this.programDone = false;
    this.options.world.touch();
    void this.run(incarnation);
  }

  crash(): void {
    if (this.status === "down") return;
    this.endIncarnation();
    if (this.locker !== null) this.crashedLockers.push(this.locker);
    this.locker = null;
    this.pending.clear();
    this.programDone = true;
    this.options.network.clientDown(this.name);
    this.options.history.forgetClient(this.name);
  }

  /**
   * After the run, its result taken: closes every Locker this client made, crashed incarnations'
   * included, as the end of a process frees its memory. A crashed process's calls never settle,
   * and Node holds a combined signal (AbortSignal.any, one per caller signal in the Locker)
   * while a listener is on it: without the close each such call kept its whole schedule
   * reachable, and a long search slowed down as the heap grew. A closed Locker sends nothing.
   */
  closeLockers(): void {
    for (const locker of this.crashedLockers.splice(0)) void locker.close();
    void this.locker?.close();
  }

  /** Faults are over: finish the current operation quickly, release, start nothing new. */
  windDown(): void {
    this.stopping = true;
    this.stopController.abort();
  }

  private async run(incarnation: number): Promise<void> {
    const ops = this.options.plan.ops;
    while (!this.stopping && incarnation === this.incarnation) {
      const op = ops[this.nextOp];
      if (op === undefined) break; // the plan is done
      this.nextOp++;
      if (op.gapMs > 0) await this.sleep(op.gapMs);
      if (this.stopping || incarnation !== this.incarnation) break;
      await this.runOp(op);
    }
    if (incarnation === this.incarnation) this.programDone = true;
  }

  private async runOp(op: ClientOp): Promise<void> {
    switch (op.kind) {
      case "lock":
        return this.lockAndWork(op);
      case "acquire":
        return this.acquireAndWork(op);
      case "semaphore":
      case "rw":
        return this.lockAndWork(op);
      case "campaign":
        return this.campaignAndLead(op);
      case "observe":
        return this.observe(op);
      case "get":
        await this.call(`get ${op.key}`, () => this.locker!.get(this.options.keyName(op.key)));
        this.options.counters.reads++;
        return;
      case "staleRelease":
        return this.staleRelease(op.key);
    }
  }

  /**
   * Holds a lock, or `count` permits of a semaphore key, for holdMs. Only a lock's holder writes
   * to the fenced resource: semaphore holders overlap by design, so tokens cannot order them.
   */
  private async lockAndWork(
    op: Extract<ClientOp, { kind: "lock" | "semaphore" | "rw" }>,
  ): Promise<void> {
    const { history, keyName, counters } = this.options;
    const key = keyName(op.key);
    const permit =
      op.kind === "semaphore"
        ? { permits: this.options.permitsOf(op.key), count: op.count }
        : undefined;
    const value = this.newValue();
    const lockOptions: LockOptions = {
      ttl: op.ttlMs,
      retryLimit: op.retryLimit,
      retryInterval: op.retryIntervalMs,
      retryJitter: op.retryJitterMs ?? 0,
      signal: this.stopController.signal,
    };
    if (op.waitMs > 0) lockOptions.wait = op.waitMs;
    if (op.refresh !== "auto") lockOptions.refreshInterval = 0;
    const rw = op.kind === "rw" ? op.mode : undefined;
    const lock = await this.call(`${op.kind} ${key}`, () =>
      rw !== undefined
        ? rw === "read"
          ? this.locker!.readLock(key, value, lockOptions)
          : this.locker!.writeLock(key, value, lockOptions)
        : permit === undefined
          ? this.locker!.lock(key, value, lockOptions)
          : this.locker!.semaphore(key, value, { ...lockOptions, ...permit }),
    );
    if (lock === null) return;
    if (rw !== undefined) counters.rwGrantsTaken++;
    else if (permit === undefined) counters.locksTaken++;
    else counters.permitGrantsTaken++;
    const belief = history.beginBelief({
      client: this.name,
      key,
      value,
      token: lock.fencingToken,
      clock: this.clock,
      lock,
      validUntilMs: lock.validUntilMs,
      permit,
      rw,
    });
    this.lastGrant.set(key, { value, token: lock.fencingToken, belief });
    lock.onLost(() => {
      if (op.kind === "lock") counters.locksLost++;
    });
    const holdUntil = this.clock.now() + op.holdMs;
    let lateRefreshAt = op.refresh === "late" ? this.lateRefreshTime(lock) : Infinity;
    while (!this.stopping && this.clock.now() < holdUntil && lock.state === "held") {
      const now = this.clock.now();
      const writeEveryMs = op.kind === "lock" ? op.writeEveryMs : Infinity;
      const wakeAt = Math.min(now + writeEveryMs, holdUntil, lateRefreshAt);
      await this.sleep(Math.max(0, wakeAt - now));
      if (this.clock.now() >= lateRefreshAt && lock.state === "held") {
        counters.lateRefreshes++;
        await this.call(`refresh ${key}`, () => lock.refresh());
        lateRefreshAt = this.lateRefreshTime(lock);
      }
      if (lock.isValid() && op.kind === "lock") this.write(key, lock.fencingToken, belief);
    }
    if (op.end === "release" || op.refresh === "auto" || this.stopping) {
      await this.call(`release ${key}`, () => lock.release());
    }
    // "expire": walk away; the lease runs out and the client's validity timer reports the loss.
    if (op.kind === "lock" && op.zombieWrite)
      await this.zombieWrite(key, lock.fencingToken, belief, op.ttlMs);
  }

  /**
   * Campaigns for the election (Locker.campaign: a queued acquire of its key, queued again each
   * time an attempt's wait runs out) and leads for holdMs, or until the leadership is lost, then
   * resigns. The leadership is a Lock: the history follows its validity as for any lock.
   */
  private async campaignAndLead(op: Extract<ClientOp, { kind: "campaign" }>): Promise<void> {
    const key = this.options.keyName(op.key);
    const name = key.slice(ELECTION_KEY_PREFIX.length);
    const value = this.newValue();
    const options = { ttl: op.ttlMs, wait: op.waitMs, signal: this.stopController.signal };
    const leadership = await this.call(`campaign ${name}`, () =>
      this.locker!.campaign(name, value, options),
    );
    if (leadership === null) return;
    this.options.counters.leadershipsTaken++;
    this.options.history.beginBelief({
      client: this.name,
      key,
      value,
      token: leadership.fencingToken,
      clock: this.clock,
      lock: leadership,
      validUntilMs: leadership.validUntilMs,
    });
    const leadUntil = this.clock.now() + op.holdMs;
    while (!this.stopping && this.clock.now() < leadUntil && leadership.state === "held") {
      await this.sleep(Math.min(leadUntil - this.clock.now(), op.ttlMs / 4));
    }
    await this.call(`resign ${name}`, () => leadership.resign());
  }

  /** Observes the election for forMs (of this process's clock), recording every leader reported. */
  private async observe(op: Extract<ClientOp, { kind: "observe" }>): Promise<void> {
    const key = this.options.keyName(op.key);
    const name = key.slice(ELECTION_KEY_PREFIX.length);
    const stop = new AbortController();
    const incarnation = this.incarnation;
    const abort = (): void => stop.abort();
    this.stopController.signal.addEventListener("abort", abort, { once: true });
    this.clock.setTimeout(abort, op.forMs);
    const observation = this.options.history.beginObservation(this.name, key);
    await this.call(`observe ${name}`, async () => {
      for await (const leader of this.locker!.observe(name, { signal: stop.signal })) {
        // A crashed incarnation reports nothing more (its process is gone).
        if (incarnation !== this.incarnation) return;
        this.options.counters.leadersObserved++;
        observation.reports.push({
          atMs: this.options.world.nowMs,
          leader: leader === null ? null : { value: leader.value, token: leader.fencingToken },
        });
      }
    });
    this.stopController.signal.removeEventListener("abort", abort);
  }

  /** Later, one more write with the old token and no check: the resource must fence it off. */
  private async zombieWrite(
    key: string,
    token: number,
    belief: Belief,
    ttlMs: number,
  ): Promise<void> {
    if (this.stopping) return;
    await this.sleep(this.options.random.between(0, ttlMs));
    this.write(key, token, belief, false);
  }

  private async acquireAndWork(op: Extract<ClientOp, { kind: "acquire" }>): Promise<void> {
    const { keyName, counters } = this.options;
    const key = keyName(op.key);
    const value = this.newValue();
    const acquire = () =>
      this.call(`acquire ${key}`, () =>
        this.locker!.acquire(key, value, { ttl: op.ttlMs, signal: this.stopController.signal }),
      );
    let grant = await acquire();
    if (grant === null) return;
    counters.grantsTaken++;
    let belief = this.believeGrant(key, value, grant.fencingToken, grant.validUntilMs);
    let holdUntil = Math.min(this.clock.now() + op.holdMs, grant.validUntilMs);
    const hold = (held: NonNullable<typeof grant>) =>
      this.holdGrant(key, held.fencingToken, held.validUntilMs, holdUntil, op.writeEveryMs, belief);
    if (op.end === "renew") {
      // Work until just around the end of the validity, then acquire again with the same value.
      await hold(grant);
      const renewAt = grant.validUntilMs + op.renewOffsetMs;
      if (this.clock.now() < renewAt) await this.sleep(renewAt - this.clock.now());
      if (this.stopping) return this.releaseGrant(key, value, grant.fencingToken, belief);
      counters.renewals++;
      const renewed = await acquire();
      if (renewed === null) return;
      grant = renewed;
      // The renewal supersedes the first grant's validity: the program goes on with the new one
      // only (and releases that), so the first belief ends here rather than running on.
      this.options.history.endBelief(belief, "renewed");
      belief = this.believeGrant(key, value, grant.fencingToken, grant.validUntilMs);
      holdUntil = Math.min(this.clock.now() + op.holdMs, grant.validUntilMs);
    }
    await hold(grant);
    if (op.end !== "expire" || this.stopping) {
      await this.releaseGrant(key, value, grant.fencingToken, belief);
    }
    if (op.zombieWrite) await this.zombieWrite(key, grant.fencingToken, belief, op.ttlMs);
  }

  private believeGrant(key: string, value: string, token: number, validUntilMs: number): Belief {
    const belief = this.options.history.beginBelief({
      client: this.name,
      key,
      value,
      token,
      clock: this.clock,
      lock: null,
      validUntilMs,
    });
    this.lastGrant.set(key, { value, token, belief });
    return belief;
  }

  /** Fenced writes every writeEveryMs while the grant is valid, until holdUntil. */
  private async holdGrant(
    key: string,
    token: number,
    validUntilMs: number,
    holdUntil: number,
    writeEveryMs: number,
    belief: Belief,
  ): Promise<void> {
    while (!this.stopping && this.clock.now() < holdUntil) {
      const now = this.clock.now();
      await this.sleep(Math.max(0, Math.min(now + writeEveryMs, holdUntil) - now));
      if (this.clock.now() < validUntilMs) this.write(key, token, belief);
    }
  }

  private async releaseGrant(
    key: string,
    value: string,
    token: number,
    belief: Belief,
  ): Promise<void> {
    this.options.history.endBelief(belief, "released");
    await this.call(`release ${key}`, () => this.locker!.release(key, value, { token }));
  }

  /** Releases again a grant whose validity is over: it must never free anyone else's grant. */
  private async staleRelease(keyNumber: number): Promise<void> {
    const key = this.options.keyName(keyNumber);
    const last = this.lastGrant.get(key);
    if (last === undefined) return;
    const belief = last.belief;
    // A belief starts with one validity; one without any was never valid.
    const validUntilTrue = belief.extensions.at(-1)?.validUntilMs ?? -Infinity;
    const over = belief.endMs !== null || this.options.world.nowMs >= validUntilTrue;
    if (!over) return;
    const result = await this.call(`stale release ${key}`, () =>
      this.locker!.release(key, last.value, { token: last.token }),
    );
    if (result !== null && !result.released) this.options.counters.staleReleasesRefused++;
  }

  private write(key: string, token: number, belief: Belief, believed = true): void {
    this.options.counters.writesIssued++;
    const write = {
      key,
      token,
      client: this.name,
      beliefId: belief.id,
      believed,
      issueMs: this.options.world.nowMs,
      arriveMs: null,
      accepted: null,
    };
    this.options.history.recordWrite(write);
    this.options.resource.send(write);
  }

  /** Just before the validity ends, with a random few ms to spare (racing the leader's expiry). */
  private lateRefreshTime(lock: Lock): number {
    const spareMs = this.options.random.between(0, this.options.marginMs + 5);
    return lock.validUntilMs - spareMs;
  }

  /**
   * After faults stopped: take every key once (retrying while it is held or the cluster is still
   * recovering) and release it. Returns, per key, when it was granted or the refused acquire.
   */
  async probeKeys(keys: string[], ttlMs: number, giveUpAtMs: number): Promise<ProbeOutcome[]> {
    const world = this.options.world;
    const outcomes: ProbeOutcome[] = [];
    for (const [keyNumber, key] of keys.entries()) {
      // A semaphore key is taken whole (all N permits): every other holder must be gone.
      const permits = this.options.permitsOf(keyNumber);
      const permit = permits > 0 ? { permits, count: permits } : undefined;
      // The rw key is taken by a writer: every reader and writer must be gone.
      const rw = this.options.isRwKey(keyNumber) ? ("write" as const) : undefined;
      let at: number | null = null;
      let refused: ProbeOutcome["refused"] = null;
      while (at === null && refused === null && world.nowMs < giveUpAtMs && this.locker) {
        const value = this.newValue();
        const grant = await this.call(
          `probe ${key}`,
          () =>
            rw !== undefined
              ? this.locker!.acquireRw(key, value, rw, { ttl: ttlMs })
              : permit === undefined
                ? this.locker!.acquire(key, value, { ttl: ttlMs })
                : this.locker!.acquireSemaphore(key, value, { ttl: ttlMs, ...permit }),
          (error) => {
            if (permit !== undefined && refusesPermits(error)) {
              refused = { permits: permit.permits, atMs: world.nowMs };
            }
          },
        );
        if (refused !== null) break;
        if (grant === null) {
          await this.sleep(PROBE_RETRY_MS);
          continue;
        }
        at = world.nowMs;
        const belief = this.options.history.beginBelief({
          client: this.name,
          key,
          value,
          token: grant.fencingToken,
          clock: this.clock,
          lock: null,
          validUntilMs: grant.validUntilMs,
          permit,
          rw,
        });
        this.options.history.endBelief(belief, "released");
        await this.call(`release ${key}`, () =>
          this.locker!.release(key, value, { token: grant.fencingToken }),
        );
      }
      outcomes.push({ grantedMs: at, refused });
    }
    return outcomes;
  }

  private newValue(): string {
    return `${this.name}.${this.incarnation}.${++this.valueNumber}`;
  }

  /** Runs a Locker call; typed failures are counted (and shown to onRefused) and give null. */
  private async call<T>(
    what: string,
    action: () => Promise<T>,
    onRefused?: (error: DlockError) => void,
  ): Promise<T | null> {
    const pending: PendingCall = {
      client: this.name,
      what,
      startedMs: this.options.world.nowMs,
      settledMs: null,
    };
    this.pending.add(pending);
    this.trackedCalls?.push(pending);
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof DlockError)) {
        this.options.onUnexpectedError(this.name, error);
        return null;
      }
      onRefused?.(error);
      const counters = this.options.counters;
      if (error.code === "LOCK_BUSY") counters.busy++;
      else if (error.code === "CLUSTER_UNAVAILABLE") counters.unavailable++;
      else counters.otherErrors++;
      return null;
    } finally {
      this.pending.delete(pending);
      pending.settledMs = this.options.world.nowMs;
    }
  }

  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.clock.setTimeout(resolve, delayMs);
    });
  }
}

/** A refusal no retry can change: the permit count is over the table limits in force. */
function refusesPermits(error: DlockError): boolean {
  return error instanceof InvalidArgumentError && error.field === "permits";
}
