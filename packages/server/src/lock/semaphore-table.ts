import type {
  CancelWaitCommand,
  PermitExpireCommand,
  RefreshCommand,
  ReleaseCommand,
  SemaphoreAcquireCommand,
  WaiterExpireCommand,
} from "./commands.js";
import { LockError, LockInvariantError } from "./errors.js";
import { waiterLeaseMs } from "./key-state.js";
import { grantedResult, invalidArgument, queuedResult, refusedResult } from "./result-builders.js";
import type { ResolvedLockLimits } from "./limits.js";
import type { LockInfo, LockResult, RejectedResult, WaiterGrant } from "./results.js";
import type { PermitHolder, PermitWaiter, SemaphoreState } from "./semaphore-state.js";

/** What the semaphore table needs of the lock state machine that owns it. */
export interface SemaphoreTableHost {
  readonly limits: ResolvedLockLimits;
  /** Keys of both kinds, for locksMax. */
  readonly keyCount: () => number;
  /** Whether `key` is an exclusive lock's key now. */
  readonly isLockKey: (key: string) => boolean;
  readonly markDirty: (key: string) => void;
  /** The planted bug semaphoreOvercommit (planted-lock-bugs.ts); false in production. */
  readonly overcommit: boolean;
}

const NOT_OWNER_MESSAGE =
  "not a holder: the value and token do not name a current grant of this semaphore";

/**
 * The counting semaphores of the replicated table (deterministic, like LockStateMachine, which
 * validates arguments, advances the applied index and hands semaphore keys here). FIFO fair: a
 * waiter is granted only when every waiter ahead of it was, so a waiter needing k permits blocks
 * later ones (no barging); never more than `permits` held.
 */
export class SemaphoreTable {
  private readonly host: SemaphoreTableHost;
  private readonly table = new Map<string, SemaphoreState>();

  constructor(host: SemaphoreTableHost) {
    this.host = host;
  }

  get size(): number {
    return this.table.size;
  }

  has(key: string): boolean {
    return this.table.has(key);
  }

  state(key: string): Readonly<SemaphoreState> | undefined {
    return this.table.get(key);
  }

  forEach(visit: (state: Readonly<SemaphoreState>) => void): void {
    for (const state of this.table.values()) visit(state);
  }

  sortedStates(): SemaphoreState[] {
    const states = Array.from(this.table.values());
    states.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return states;
  }

  /** Replaces every semaphore (already checked against the applied index by the caller). */
  install(states: SemaphoreState[]): void {
    const next = new Map<string, SemaphoreState>();
    for (const s of states) {
      if (next.has(s.key)) throw new LockError("MALFORMED", `duplicate semaphore record ${s.key}`);
      if (s.permits > this.host.limits.semaphorePermitsMax)
        throw new LockError("MALFORMED", `semaphore record ${s.key} has more permits than allowed`);
      if (s.waiters.length > this.host.limits.waitersPerKeyMax)
        throw new LockError("MALFORMED", `semaphore record ${s.key} has more waiters than allowed`);
      next.set(s.key, s);
    }
    this.table.clear();
    for (const [key, s] of next) this.table.set(key, s);
  }

  info(key: string): LockInfo | undefined {
    const s = this.table.get(key);
    if (s === undefined) return undefined;
    let newest = 0;
    let leaseRevision = 0;
    let ttlMs = 0;
    for (const h of s.holders) {
      if (h.token > newest) newest = h.token;
      if (h.leaseRevision > leaseRevision) {
        leaseRevision = h.leaseRevision;
        ttlMs = h.ttlMs;
      }
    }
    return {
      key,
      held: true,
      value: null,
      fencingToken: newest,
      ttlMs,
      leaseRevision,
      waiters: s.waiters.length,
      inLockDelay: false,
      semaphore: { permits: s.permits, held: s.held, holders: s.holders.length },
    };
  }

  /** Argument checks beyond the shared key/value/ttl/wait ones. */
  check(c: SemaphoreAcquireCommand): RejectedResult | null {
    const max = this.host.limits.semaphorePermitsMax;
    if (!(c.permits >= 1 && c.permits <= max))
      return invalidArgument(c.key, "permits", `permits must be in [1, ${max}]`);
    if (!(c.count >= 1 && c.count <= c.permits))
      return invalidArgument(c.key, "count", `count must be in [1, permits (${c.permits})]`);
    return null;
  }

  acquire(index: number, c: SemaphoreAcquireCommand): LockResult {
    if (this.host.isLockKey(c.key))
      return refusedResult(
        c.key,
        "KIND_MISMATCH",
        `key "${c.key}" is held as an exclusive lock; use another key for the semaphore, or lock() for this one`,
      );
    const s = this.table.get(c.key);
    if (s === undefined) {
      if (c.renewOnly === true) return busy(c.key, c.value, false, []);
      if (this.host.keyCount() >= this.host.limits.locksMax)
        return refusedResult(
          c.key,
          "LOCKS_FULL",
          `the lock table is full (${this.host.limits.locksMax} keys)`,
        );
      const holder: PermitHolder = {
        value: c.value,
        token: index,
        leaseRevision: index,
        ttlMs: c.ttlMs,
        count: c.count,
      };
      this.table.set(c.key, {
        key: c.key,
        permits: c.permits,
        held: c.count,
        holders: [holder],
        waiters: [],
      });
      this.host.markDirty(c.key);
      return grantedResult(c, index, index, false, true);
    }
    if (s.permits !== c.permits)
      return refusedResult(
        c.key,
        "SEMAPHORE_PERMITS_MISMATCH",
        `semaphore "${c.key}" has ${s.permits} permits, not ${c.permits}; use the same permits as its other users (it is fixed while the key has holders or waiters)`,
      );
    const holder = s.holders.find((h) => h.value === c.value);
    if (holder !== undefined) {
      if (holder.count !== c.count)
        return invalidArgument(
          c.key,
          "count",
          `value already holds ${holder.count} permits of "${c.key}"; release them before asking for ${c.count}`,
        );
      // A retried (or repeated) acquire by a holder: same grant, fresh lease from this entry.
      holder.leaseRevision = index;
      holder.ttlMs = c.ttlMs;
      this.host.markDirty(c.key);
      return grantedResult(c, holder.token, index, true, true);
    }
    const position = s.waiters.findIndex((w) => w.value === c.value);
    if (position >= 0) {
      const waiter = s.waiters[position]!;
      if (c.waitMs === 0) {
        s.waiters.splice(position, 1);
        const grants = this.grantWaiters(s, index);
        this.host.markDirty(c.key);
        return busy(c.key, c.value, true, grants);
      }
      if (waiter.count !== c.count)
        return invalidArgument(
          c.key,
          "count",
          `value already waits for ${waiter.count} permits of "${c.key}"; cancel before asking for ${c.count}`,
        );
      // A queued value's retry keeps its place and renews its queue lease.
      waiter.waiterRevision = index;
      waiter.ttlMs = c.ttlMs;
      waiter.waitMs = c.waitMs;
      waiter.requestId = c.requestId;
      this.host.markDirty(c.key);
      return queuedResult(c, waiter, position);
    }
    const fits = c.count <= s.permits - s.held || this.host.overcommit;
    if (s.waiters.length === 0 && fits && c.renewOnly !== true) {
      s.holders.push({
        value: c.value,
        token: index,
        leaseRevision: index,
        ttlMs: c.ttlMs,
        count: c.count,
      });
      s.held += c.count;
      this.host.markDirty(c.key);
      return grantedResult(c, index, index, false, true);
    }
    if (c.waitMs === 0 || c.renewOnly === true) return busy(c.key, c.value, false, []);
    if (s.waiters.length >= this.host.limits.waitersPerKeyMax)
      return refusedResult(
        c.key,
        "WAITERS_FULL",
        `the key already has ${this.host.limits.waitersPerKeyMax} waiters`,
      );
    const waiter: PermitWaiter = {
      value: c.value,
      waiterId: index,
      waiterRevision: index,
      ttlMs: c.ttlMs,
      waitMs: c.waitMs,
      requestId: c.requestId,
      count: c.count,
    };
    s.waiters.push(waiter);
    this.host.markDirty(c.key);
    return queuedResult(c, waiter, s.waiters.length - 1);
  }

  refresh(index: number, c: RefreshCommand): LockResult {
    const s = this.table.get(c.key);
    const holder = s?.holders.find((h) => h.value === c.value && h.token === c.token);
    if (holder === undefined) return refusedResult(c.key, "NOT_OWNER", NOT_OWNER_MESSAGE);
    holder.leaseRevision = index;
    holder.ttlMs = c.ttlMs;
    this.host.markDirty(c.key);
    return {
      type: "refreshed",
      key: c.key,
      value: c.value,
      token: holder.token,
      leaseRevision: index,
      ttlMs: c.ttlMs,
      permit: true,
    };
  }

  release(index: number, c: ReleaseCommand): LockResult {
    const s = this.table.get(c.key);
    const position =
      s === undefined
        ? -1
        : s.holders.findIndex((h) => h.value === c.value && (c.token === 0 || h.token === c.token));
    if (s === undefined || position < 0)
      return { type: "notHeld", key: c.key, value: c.value, token: c.token };
    const holder = this.removeHolder(s, position);
    const grants = this.grantWaiters(s, index);
    this.settle(s);
    return {
      type: "released",
      key: c.key,
      value: c.value,
      token: holder.token,
      next: null,
      permit: true,
      grants,
    };
  }

  expire(index: number, c: PermitExpireCommand): LockResult {
    const s = this.table.get(c.key);
    const position =
      s === undefined
        ? -1
        : s.holders.findIndex(
            (h) =>
              h.value === c.value && h.token === c.token && h.leaseRevision === c.leaseRevision,
          );
    if (s === undefined || position < 0) return { type: "stale", key: c.key, command: c };
    this.removeHolder(s, position);
    const grants = this.grantWaiters(s, index);
    this.settle(s);
    return {
      type: "expired",
      key: c.key,
      value: c.value,
      token: c.token,
      delayRevision: 0,
      lockDelayMs: 0,
      next: null,
      permit: true,
      grants,
    };
  }

  waiterExpire(index: number, c: WaiterExpireCommand): LockResult {
    const s = this.table.get(c.key);
    const position = s === undefined ? -1 : s.waiters.findIndex((w) => w.value === c.value);
    if (s === undefined || position < 0 || s.waiters[position]!.waiterRevision !== c.waiterRevision)
      return { type: "stale", key: c.key, command: c };
    s.waiters.splice(position, 1);
    const grants = this.grantWaiters(s, index);
    this.host.markDirty(c.key);
    return {
      type: "waiterRemoved",
      key: c.key,
      value: c.value,
      waiterRevision: c.waiterRevision,
      reason: "expired",
      grants,
    };
  }

  cancelWait(index: number, c: CancelWaitCommand): LockResult {
    const s = this.table.get(c.key);
    const position = s === undefined ? -1 : s.waiters.findIndex((w) => w.value === c.value);
    if (s === undefined || position < 0) {
      const holder = s?.holders.find((h) => h.value === c.value);
      return {
        type: "notQueued",
        key: c.key,
        value: c.value,
        heldToken: holder === undefined ? 0 : holder.token,
      };
    }
    const waiter = s.waiters.splice(position, 1)[0]!;
    const grants = this.grantWaiters(s, index);
    this.host.markDirty(c.key);
    return {
      type: "waiterRemoved",
      key: c.key,
      value: c.value,
      waiterRevision: waiter.waiterRevision,
      reason: "cancelled",
      grants,
    };
  }

  private removeHolder(s: SemaphoreState, position: number): PermitHolder {
    const holder = s.holders.splice(position, 1)[0]!;
    s.held -= holder.count;
    return holder;
  }

  /** Grants waiters from the head while their permits fit (token = this entry's index). */
  private grantWaiters(s: SemaphoreState, index: number): WaiterGrant[] {
    const grants: WaiterGrant[] = [];
    for (;;) {
      const head = s.waiters[0];
      if (head === undefined || head.count > s.permits - s.held) break;
      s.waiters.shift();
      s.holders.push({
        value: head.value,
        token: index,
        leaseRevision: index,
        ttlMs: head.ttlMs,
        count: head.count,
      });
      s.held += head.count;
      grants.push({
        value: head.value,
        token: index,
        leaseRevision: index,
        ttlMs: head.ttlMs,
        requestId: head.requestId,
        waiterRevision: head.waiterRevision,
        waiterLeaseMs: waiterLeaseMs(head),
      });
    }
    return grants;
  }

  /** Marks the key dirty and deletes it once nobody holds it. */
  private settle(s: SemaphoreState): void {
    this.host.markDirty(s.key);
    if (s.holders.length === 0) {
      if (s.waiters.length !== 0)
        throw new LockInvariantError(`semaphore ${s.key} has waiters but no holder`);
      this.table.delete(s.key);
    }
  }
}

function busy(key: string, value: string, dequeued: boolean, grants: WaiterGrant[]): LockResult {
  return { type: "busy", code: "LOCK_BUSY", key, value, dequeued, inLockDelay: false, grants };
}
