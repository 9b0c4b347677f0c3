import type { LeaseCommand } from "./commands.js";
import { positiveInteger } from "@dlock/protocol";
import { waiterLeaseMs } from "./key-state.js";
import type { PlantedLockBugs } from "./planted-lock-bugs.js";
import { plantedLockBugsOf } from "./planted-lock-bugs.js";
import type { LockResult, WaiterGrant } from "./results.js";
import { permitGrantsOf } from "./results.js";
import type { LockStateMachine } from "./state-machine.js";
import type { HeapItem } from "./timer-heap.js";
import { TimerHeap } from "./timer-heap.js";

export interface LeaseManagerOptions {
  /**
   * An expiry proposed but not applied within this long is proposed again (the proposal or its
   * entry was lost). A duplicate is harmless: the second one is stale when applied.
   */
  expireRetryMs?: number;
  /** Default and upper bound of the commands one dueExpiries() call returns. */
  expireBatchMax?: number;
}

export const DEFAULT_LEASE_MANAGER_OPTIONS = {
  expireRetryMs: 1000,
  expireBatchMax: 256,
} as const;

export interface ResolvedLeaseManagerOptions {
  expireRetryMs: number;
  expireBatchMax: number;
}

export function resolveLeaseManagerOptions(
  options: LeaseManagerOptions = {},
): ResolvedLeaseManagerOptions {
  const resolved = {
    expireRetryMs: options.expireRetryMs ?? DEFAULT_LEASE_MANAGER_OPTIONS.expireRetryMs,
    expireBatchMax: options.expireBatchMax ?? DEFAULT_LEASE_MANAGER_OPTIONS.expireBatchMax,
  };
  for (const field of ["expireRetryMs", "expireBatchMax"] as const) {
    positiveInteger(resolved[field], undefined, field);
  }
  return resolved;
}

const KIND_LOCK = 0;
const KIND_WAITER = 1;
const KIND_DELAY = 2;
const KIND_PERMIT = 3;

/**
 * One lease the leader times: a grant's lease, a waiter's queue lease, a lock delay or the lease
 * of one semaphore holder.
 */
interface LeaseTimer extends HeapItem {
  kind: typeof KIND_LOCK | typeof KIND_WAITER | typeof KIND_DELAY | typeof KIND_PERMIT;
  key: string;
  /** The waiter's or permit holder's value (waiter and permit timers only). */
  value: string;
  /** Fencing token of the grant (lock and permit timers only). */
  token: number;
  /** The revision the lease command will name: leaseRevision, waiterRevision or delayRevision. */
  revision: number;
  /** When the lease ends on this leader's monotonic clock. */
  deadlineMs: number;
  /** When dueExpiries next returns it: deadlineMs, or the retry time while an expiry is pending. */
  dueMs: number;
  /** An expiry for this exact revision was handed out and has not been applied yet. */
  pending: boolean;
}

/**
 * The leader's lease clock. Pure: every call takes the host's monotonic `nowMs`; it never reads a
 * clock. The host feeds it every apply result while leader (`onApplied`, with `nowMs` read when
 * the entry is applied, which is after the leader received the request, so a deadline is never
 * measured from earlier than receipt), asks `dueExpiries` for the lease commands to propose, and
 * switches it with `becomeLeader` / `becomeFollower`. Followers track nothing: a new leader
 * learns every lease from the applied table and gives each a full TTL from its election.
 */
export class LeaseManager {
  readonly options: ResolvedLeaseManagerOptions;
  // Deliberate bugs (planted-lock-bugs.ts): only @dlock/server/internal can switch them on.
  private readonly bugs: Required<PlantedLockBugs>;
  private leader = false;
  private readonly heap = new TimerHeap<LeaseTimer>();
  private readonly locks = new Map<string, LeaseTimer>();
  private readonly delays = new Map<string, LeaseTimer>();
  private readonly waiters = new Map<string, Map<string, LeaseTimer>>();
  private waiterCount = 0;
  /** Semaphore holders' leases by key, then value (several holders share a key). */
  private readonly permits = new Map<string, Map<string, LeaseTimer>>();
  private permitCount = 0;

  constructor(options: LeaseManagerOptions = {}) {
    this.options = resolveLeaseManagerOptions(options);
    this.bugs = plantedLockBugsOf(options);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Leases, waiter leases and lock delays currently timed. */
  get trackedCount(): { locks: number; waiters: number; delays: number } {
    return { locks: this.locks.size, waiters: this.waiterCount, delays: this.delays.size };
  }

  /** Semaphore holders' leases currently timed. */
  get trackedPermits(): number {
    return this.permitCount;
  }

  /**
   * Call when this node becomes leader, with the table as applied at that moment. Every lease,
   * waiter lease and lock delay gets its full length from `nowMs` (the election) before anything
   * is expired; entries applied later arrive through onApplied as usual.
   */
  becomeLeader(nowMs: number, table: LockStateMachine): void {
    this.reset();
    this.leader = true;
    const noExtension = this.bugs.noLeaseExtensionOnElection;
    table.forEachKey((s) => {
      if (s.holder !== null)
        this.setLock(s.key, s.token, s.leaseRevision, noExtension ? nowMs : nowMs + s.ttlMs);
      if (s.delayRevision > 0) this.setDelay(s.key, s.delayRevision, nowMs + s.delayMs);
      for (const w of s.waiters)
        this.setWaiter(s.key, w.value, w.waiterRevision, nowMs + waiterLeaseMs(w));
    });
    table.forEachSemaphore((s) => {
      for (const h of s.holders)
        this.setPermit(
          s.key,
          h.value,
          h.token,
          h.leaseRevision,
          noExtension ? nowMs : nowMs + h.ttlMs,
        );
      for (const w of s.waiters)
        this.setWaiter(s.key, w.value, w.waiterRevision, nowMs + waiterLeaseMs(w));
    });
  }

  /** Call on losing leadership (and after a snapshot restore, then becomeLeader if still leader). */
  becomeFollower(): void {
    this.reset();
  }

  /** Feed every apply result while leader; ignored on followers. */
  onApplied(result: LockResult, nowMs: number): void {
    if (!this.leader) return;
    for (const grant of permitGrantsOf(result)) this.grantPermitWaiter(result.key, grant, nowMs);
    switch (result.type) {
      case "granted":
      case "refreshed":
        if (result.permit === true) {
          const deadlineMs = nowMs + result.ttlMs;
          this.setPermit(result.key, result.value, result.token, result.leaseRevision, deadlineMs);
          return;
        }
        this.setLock(result.key, result.token, result.leaseRevision, nowMs + result.ttlMs);
        return;
      case "queued":
        this.setWaiter(
          result.key,
          result.value,
          result.waiterRevision,
          nowMs + result.waiterLeaseMs,
        );
        return;
      case "busy":
        if (result.dequeued) this.removeWaiter(result.key, result.value);
        return;
      case "released":
        if (result.permit === true) {
          this.removePermit(result.key, result.value);
          return;
        }
        this.removeLock(result.key);
        if (result.next !== null) this.grantWaiter(result.key, result.next, nowMs);
        return;
      case "expired":
        if (result.permit === true) {
          this.removePermit(result.key, result.value);
          return;
        }
        this.removeLock(result.key);
        if (result.delayRevision > 0)
          this.setDelay(result.key, result.delayRevision, nowMs + result.lockDelayMs);
        if (result.next !== null) this.grantWaiter(result.key, result.next, nowMs);
        return;
      case "delayCleared":
        this.removeDelay(result.key);
        if (result.next !== null) this.grantWaiter(result.key, result.next, nowMs);
        return;
      case "waiterRemoved":
        this.removeWaiter(result.key, result.value);
        return;
      case "stale":
        this.dropStale(result.command);
        return;
      default:
        return;
    }
  }

  /**
   * Lease commands due at `nowMs`, at most `maxBatch`, earliest deadline first. Each is marked
   * pending and not returned again until it is applied, or `expireRetryMs` passes without that
   * (lost proposal), or proposalFailed() is called for it, or leadership changes.
   */
  dueExpiries(nowMs: number, maxBatch: number = this.options.expireBatchMax): LeaseCommand[] {
    const limit = Math.min(maxBatch, this.options.expireBatchMax);
    const out: LeaseCommand[] = [];
    if (!this.leader) return out;
    while (out.length < limit) {
      const timer = this.heap.peek();
      if (timer === undefined || timer.dueMs > nowMs) break;
      out.push(this.commandOf(timer));
      timer.pending = true;
      timer.dueMs = nowMs + this.options.expireRetryMs;
      this.heap.upsert(timer);
    }
    return out;
  }

  /** The proposal of `command` was refused: make it due again at once. */
  proposalFailed(command: LeaseCommand): void {
    const timer = this.timerOf(command);
    if (timer === undefined || !timer.pending) return;
    timer.pending = false;
    timer.dueMs = timer.deadlineMs;
    this.heap.upsert(timer);
  }

  /** When the host should call dueExpiries next (null: nothing timed). */
  nextDueMs(): number | null {
    const timer = this.heap.peek();
    return timer === undefined ? null : timer.dueMs;
  }

  /**
   * Remaining lease of the key's grant on this leader's clock (null if not timed). Informational
   * (`get`'s ttlRemainingMs): a client must never count a validity from it (see WaiterGrant).
   */
  remainingMs(key: string, nowMs: number): number | null {
    const timer = this.locks.get(key);
    if (timer === undefined) return null;
    return Math.max(0, timer.deadlineMs - nowMs);
  }

  /** Deadline of a waiter's queue lease on this leader's clock (null if not timed). */
  waiterDeadlineMs(key: string, value: string): number | null {
    return this.waiters.get(key)?.get(value)?.deadlineMs ?? null;
  }

  // ---- internals ----------------------------------------------------------------------------

  private reset(): void {
    this.leader = false;
    this.heap.clear();
    this.locks.clear();
    this.delays.clear();
    this.waiters.clear();
    this.waiterCount = 0;
    this.permits.clear();
    this.permitCount = 0;
  }

  private newTimer(kind: LeaseTimer["kind"], key: string, value: string): LeaseTimer {
    return {
      kind,
      key,
      value,
      token: 0,
      revision: 0,
      deadlineMs: 0,
      dueMs: 0,
      pending: false,
      heapIndex: -1,
    };
  }

  private arm(timer: LeaseTimer, token: number, revision: number, deadlineMs: number): void {
    timer.token = token;
    timer.revision = revision;
    timer.deadlineMs = deadlineMs;
    timer.dueMs = deadlineMs;
    timer.pending = false;
    this.heap.upsert(timer);
  }

  private setLock(key: string, token: number, revision: number, deadlineMs: number): void {
    let timer = this.locks.get(key);
    if (timer === undefined) {
      timer = this.newTimer(KIND_LOCK, key, "");
      this.locks.set(key, timer);
    }
    this.arm(timer, token, revision, deadlineMs);
  }

  private removeLock(key: string): void {
    const timer = this.locks.get(key);
    if (timer === undefined) return;
    this.heap.remove(timer);
    this.locks.delete(key);
  }

  private setDelay(key: string, revision: number, deadlineMs: number): void {
    let timer = this.delays.get(key);
    if (timer === undefined) {
      timer = this.newTimer(KIND_DELAY, key, "");
      this.delays.set(key, timer);
    }
    this.arm(timer, 0, revision, deadlineMs);
  }

  private removeDelay(key: string): void {
    const timer = this.delays.get(key);
    if (timer === undefined) return;
    this.heap.remove(timer);
    this.delays.delete(key);
  }

  private setWaiter(key: string, value: string, revision: number, deadlineMs: number): void {
    let byValue = this.waiters.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      this.waiters.set(key, byValue);
    }
    let timer = byValue.get(value);
    if (timer === undefined) {
      timer = this.newTimer(KIND_WAITER, key, value);
      byValue.set(value, timer);
      this.waiterCount++;
    }
    this.arm(timer, 0, revision, deadlineMs);
  }

  /** Removes and returns the waiter's timer. */
  private removeWaiter(key: string, value: string): LeaseTimer | undefined {
    const byValue = this.waiters.get(key);
    const timer = byValue?.get(value);
    if (byValue === undefined || timer === undefined) return undefined;
    this.heap.remove(timer);
    byValue.delete(value);
    this.waiterCount--;
    if (byValue.size === 0) this.waiters.delete(key);
    return timer;
  }

  private setPermit(
    key: string,
    value: string,
    token: number,
    revision: number,
    deadlineMs: number,
  ): void {
    let byValue = this.permits.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      this.permits.set(key, byValue);
    }
    let timer = byValue.get(value);
    if (timer === undefined) {
      timer = this.newTimer(KIND_PERMIT, key, value);
      byValue.set(value, timer);
      this.permitCount++;
    }
    this.arm(timer, token, revision, deadlineMs);
  }

  private removePermit(key: string, value: string): void {
    const byValue = this.permits.get(key);
    const timer = byValue?.get(value);
    if (byValue === undefined || timer === undefined) return;
    this.heap.remove(timer);
    byValue.delete(value);
    this.permitCount--;
    if (byValue.size === 0) this.permits.delete(key);
  }

  /** A semaphore waiter granted in some step: a fresh permit lease from this apply. */
  private grantPermitWaiter(key: string, grant: WaiterGrant, nowMs: number): void {
    const waiterTimer = this.removeWaiter(key, grant.value);
    const deadlineMs =
      this.bugs.grantWaiterWithoutLeaseCheck && waiterTimer !== undefined
        ? waiterTimer.deadlineMs
        : nowMs + grant.ttlMs;
    this.setPermit(key, grant.value, grant.token, grant.leaseRevision, deadlineMs);
  }

  /** A waiter granted in a release/expire/delay-end step: a fresh lock lease from this apply. */
  private grantWaiter(key: string, grant: WaiterGrant, nowMs: number): void {
    const waiterTimer = this.removeWaiter(key, grant.value);
    const deadlineMs =
      this.bugs.grantWaiterWithoutLeaseCheck && waiterTimer !== undefined
        ? waiterTimer.deadlineMs
        : nowMs + grant.ttlMs;
    this.setLock(key, grant.token, grant.leaseRevision, deadlineMs);
  }

  private timerOf(command: LeaseCommand): LeaseTimer | undefined {
    let timer: LeaseTimer | undefined;
    if (command.type === "expire") {
      timer = this.locks.get(command.key);
      if (
        timer !== undefined &&
        (timer.token !== command.token || timer.revision !== command.leaseRevision)
      )
        return undefined;
    } else if (command.type === "permitExpire") {
      timer = this.permits.get(command.key)?.get(command.value);
      if (
        timer !== undefined &&
        (timer.token !== command.token || timer.revision !== command.leaseRevision)
      )
        return undefined;
    } else if (command.type === "waiterExpire") {
      timer = this.waiters.get(command.key)?.get(command.value);
      if (timer !== undefined && timer.revision !== command.waiterRevision) return undefined;
    } else {
      timer = this.delays.get(command.key);
      if (timer !== undefined && timer.revision !== command.delayRevision) return undefined;
    }
    return timer;
  }

  /**
   * A lease command that the table found stale while this manager still times that exact
   * revision: the two views disagree (e.g. a waiter left the queue by a path this manager did
   * not see), so the table wins and the timer goes.
   */
  private dropStale(command: LeaseCommand): void {
    const timer = this.timerOf(command);
    if (timer === undefined) return;
    if (timer.kind === KIND_LOCK) this.removeLock(timer.key);
    else if (timer.kind === KIND_WAITER) this.removeWaiter(timer.key, timer.value);
    else if (timer.kind === KIND_PERMIT) this.removePermit(timer.key, timer.value);
    else this.removeDelay(timer.key);
  }

  private commandOf(timer: LeaseTimer): LeaseCommand {
    if (timer.kind === KIND_LOCK)
      return { type: "expire", key: timer.key, token: timer.token, leaseRevision: timer.revision };
    if (timer.kind === KIND_PERMIT)
      return {
        type: "permitExpire",
        key: timer.key,
        value: timer.value,
        token: timer.token,
        leaseRevision: timer.revision,
      };
    if (timer.kind === KIND_WAITER)
      return {
        type: "waiterExpire",
        key: timer.key,
        value: timer.value,
        waiterRevision: timer.revision,
      };
    return { type: "clearDelay", key: timer.key, delayRevision: timer.revision };
  }
}
