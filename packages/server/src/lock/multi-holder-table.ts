import { PERMITS_MAX, WAITERS_PER_KEY_MAX } from "@dlock/protocol";
import type * as cmd from "./commands.js";
import { LockError, LockInvariantError } from "./errors.js";
import * as build from "./result-builders.js";
import type { TableLimits } from "./limits.js";
import type { LockInfo, LockResult, RejectedResult, SlotsShare, WaiterGrant } from "./results.js";
import type {
  MultiHolderKind,
  MultiHolderState,
  PermitHolder,
  PermitWaiter,
} from "./multi-holder-state.js";
import { isRwWriter } from "./multi-holder-state.js";
import { findWaiter, newWaiter, renewWaiter, takeWaiter } from "./wait-queue.js";

/** What the multi-holder table needs of the lock state machine that owns it. */
export interface MultiHolderTableHost {
  /** The limits in force (replicated: they may change between two applies). */
  readonly limits: TableLimits;
  /** Keys of every kind, for locksMax. */
  readonly keyCount: () => number;
  /** Whether `key` is an exclusive lock's key now. */
  readonly isLockKey: (key: string) => boolean;
  readonly markDirty: (key: string) => void;
  /** The planted bug semaphoreOvercommit (planted-lock-bugs.ts); false in production. */
  readonly overcommit: boolean;
  /** The planted bug rwReaderJoinsWriter (planted-lock-bugs.ts); false in production. */
  readonly readerJoinsWriter: boolean;
}

/** An acquire of either kind, as the slots it takes of the key's `permits`. */
interface SlotsAcquire {
  key: string;
  value: string;
  ttlMs: number;
  waitMs: number;
  requestId: number;
  renewOnly?: true;
  kind: MultiHolderKind;
  permits: number;
  count: number;
}

/** How messages name each kind, and the client call that takes it. */
export const KIND_NOUN: Record<MultiHolderKind, string> = {
  semaphore: "semaphore",
  rw: "reader-writer lock",
};
export const KIND_CALL: Record<MultiHolderKind, string> = {
  semaphore: "semaphore()",
  rw: "readLock() / writeLock()",
};

const NOT_OWNER_MESSAGE =
  "not a holder: the value and token do not name a current grant of this key";

/**
 * The keys with several holders (counting semaphores) of the replicated table: deterministic,
 * like LockStateMachine, which validates arguments, advances the applied index and hands these
 * keys here. A key has N slots; each holder takes `count` of them. FIFO fair: a waiter is granted
 * only when every waiter ahead of it was, so a waiter needing k slots blocks later ones (no
 * barging); never more than N held.
 */
export class MultiHolderTable {
  private readonly host: MultiHolderTableHost;
  private readonly table = new Map<string, MultiHolderState>();

  constructor(host: MultiHolderTableHost) {
    this.host = host;
  }

  get size(): number {
    return this.table.size;
  }

  has(key: string): boolean {
    return this.table.has(key);
  }

  state(key: string): Readonly<MultiHolderState> | undefined {
    return this.table.get(key);
  }

  forEach(visit: (state: Readonly<MultiHolderState>) => void): void {
    for (const state of this.table.values()) visit(state);
  }

  sortedStates(): MultiHolderState[] {
    const states = Array.from(this.table.values());
    states.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return states;
  }

  /** Replaces every key (already checked against the applied index by the caller). */
  install(states: MultiHolderState[]): void {
    const next = new Map<string, MultiHolderState>();
    for (const s of states) {
      if (next.has(s.key)) throw new LockError("MALFORMED", `duplicate semaphore record ${s.key}`);
      // Against the protocol's bounds, not the limits in force: a key's N (an rw key's slots,
      // which are the limit at its first acquire) and its queue were valid when written, and
      // lowering a limit must not keep a node from loading its own data; the lower limit applies
      // to new keys and new waiters.
      if (s.permits > PERMITS_MAX)
        throw new LockError("MALFORMED", `semaphore record ${s.key} has more permits than allowed`);
      if (s.waiters.length > WAITERS_PER_KEY_MAX)
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
    const writer = s.holders.find((h) => isRwWriter(s, h)) ?? null;
    return {
      key,
      held: true,
      value: writer === null ? null : writer.value,
      fencingToken: newest,
      ttlMs,
      leaseRevision,
      waiters: s.waiters.length,
      inLockDelay: false,
      ...(s.kind === "rw"
        ? { rw: { readers: writer === null ? s.holders.length : 0, writer: writer?.value ?? null } }
        : { semaphore: { permits: s.permits, held: s.held, holders: s.holders.length } }),
    };
  }

  /** Argument checks beyond the shared key/value/ttl/wait ones. */
  check(c: cmd.SemaphoreAcquireCommand | cmd.RwAcquireCommand): RejectedResult | null {
    if (c.type === "rwAcquire")
      return c.mode === "read" || c.mode === "write"
        ? null
        : build.invalidArgument(c.key, "mode", `mode must be "read" or "write"`);
    const max = this.host.limits.semaphorePermitsMax;
    if (!(c.permits >= 1 && c.permits <= max))
      return build.invalidArgument(c.key, "permits", `permits must be in [1, ${max}]`);
    if (!(c.count >= 1 && c.count <= c.permits))
      return build.invalidArgument(c.key, "count", `count must be in [1, permits (${c.permits})]`);
    return null;
  }

  /** A semaphore acquire: `count` of the key's `permits` slots. */
  acquireSemaphore(index: number, c: cmd.SemaphoreAcquireCommand): LockResult {
    return this.acquire(index, { ...c, kind: "semaphore" });
  }

  /**
   * A reader-writer acquire: a reader takes one of the key's slots, a writer all of them. A new
   * key gets rwSlots() slots (so that many readers at most hold it at once).
   */
  acquireRw(index: number, c: cmd.RwAcquireCommand): LockResult {
    const s = this.table.get(c.key);
    const permits = s !== undefined && s.kind === "rw" ? s.permits : rwSlots(this.host.limits);
    const count = c.mode === "write" ? permits : 1;
    return this.acquire(index, { ...c, kind: "rw", permits, count });
  }

  private acquire(index: number, c: SlotsAcquire): LockResult {
    if (this.host.isLockKey(c.key))
      return build.refusedResult(
        c.key,
        "KIND_MISMATCH",
        `key "${c.key}" is held as an exclusive lock; use another key for the ${KIND_NOUN[c.kind]}, or lock() for this one`,
      );
    const s = this.table.get(c.key);
    if (s === undefined) {
      if (c.renewOnly === true) return build.busyResult(c.key, c.value, false, false, []);
      if (this.host.keyCount() >= this.host.limits.locksMax)
        return build.locksFullResult(c.key, this.host.limits.locksMax);
      const state = { key: c.key, kind: c.kind, permits: c.permits, held: 0 };
      this.table.set(c.key, { ...state, holders: [], waiters: [] });
      return this.grant(this.table.get(c.key)!, index, c);
    }
    if (s.kind !== c.kind)
      return build.refusedResult(
        c.key,
        "KIND_MISMATCH",
        `key "${c.key}" is in use as a ${KIND_NOUN[s.kind]}; use another key for the ${KIND_NOUN[c.kind]}, or ${KIND_CALL[s.kind]} for this one`,
      );
    if (s.permits !== c.permits)
      return build.refusedResult(
        c.key,
        "SEMAPHORE_PERMITS_MISMATCH",
        `semaphore "${c.key}" has ${s.permits} permits, not ${c.permits}; use the same permits as its other users (it is fixed while the key has holders or waiters)`,
      );
    const holder = s.holders.find((h) => h.value === c.value);
    if (holder !== undefined) {
      if (holder.count !== c.count) return countMismatch(s, c, holder.count, "holds");
      // A retried (or repeated) acquire by a holder: same grant, fresh lease from this entry.
      holder.leaseRevision = index;
      holder.ttlMs = c.ttlMs;
      this.host.markDirty(c.key);
      return tagged(s, build.grantedResult(c, holder.token, index, true, true), holder.count);
    }
    const position = findWaiter(s.waiters, c.value);
    if (position >= 0) {
      const waiter = s.waiters[position]!;
      if (c.waitMs === 0) {
        s.waiters.splice(position, 1);
        const grants = this.grantWaiters(s, index);
        this.host.markDirty(c.key);
        return tagged(s, build.busyResult(c.key, c.value, true, false, grants), waiter.count);
      }
      if (waiter.count !== c.count) return countMismatch(s, c, waiter.count, "waits for");
      renewWaiter(waiter, index, c);
      this.host.markDirty(c.key);
      return tagged(s, build.queuedResult(c, waiter, position), waiter.count);
    }
    if (s.waiters.length === 0 && this.fits(s, c.count) && c.renewOnly !== true)
      return this.grant(s, index, c);
    if (c.waitMs === 0 || c.renewOnly === true)
      return build.busyResult(c.key, c.value, false, false, []);
    if (s.waiters.length >= this.host.limits.waitersPerKeyMax)
      return build.waitersFullResult(c.key, this.host.limits.waitersPerKeyMax);
    const waiter: PermitWaiter = { ...newWaiter(index, c), count: c.count };
    s.waiters.push(waiter);
    this.host.markDirty(c.key);
    return tagged(s, build.queuedResult(c, waiter, s.waiters.length - 1), waiter.count);
  }

  /** Whether `count` more slots are free now (or a planted bug says so). */
  private fits(s: MultiHolderState, count: number): boolean {
    if (count <= s.permits - s.held) return true;
    if (s.kind === "semaphore") return this.host.overcommit;
    return this.host.readerJoinsWriter && count === 1;
  }

  refresh(index: number, c: cmd.RefreshCommand): LockResult {
    const s = this.table.get(c.key);
    const holder = s?.holders.find((h) => h.value === c.value && h.token === c.token);
    if (holder === undefined) return build.refusedResult(c.key, "NOT_OWNER", NOT_OWNER_MESSAGE);
    holder.leaseRevision = index;
    holder.ttlMs = c.ttlMs;
    this.host.markDirty(c.key);
    return tagged(s!, build.refreshedResult(c, holder.token, index, true), holder.count);
  }

  release(index: number, c: cmd.ReleaseCommand): LockResult {
    const s = this.table.get(c.key);
    const holder = s === undefined ? undefined : this.takeHolder(s, c.value, c.token, null);
    if (s === undefined || holder === undefined)
      return { type: "notHeld", key: c.key, value: c.value, token: c.token };
    return this.holderLeft(s, index, "released", holder);
  }

  expire(index: number, c: cmd.PermitExpireCommand): LockResult {
    const s = this.table.get(c.key);
    const holder =
      s === undefined ? undefined : this.takeHolder(s, c.value, c.token, c.leaseRevision);
    if (s === undefined || holder === undefined) return build.staleResult(c);
    return this.holderLeft(s, index, "expired", holder);
  }

  waiterExpire(index: number, c: cmd.WaiterExpireCommand): LockResult {
    const s = this.table.get(c.key);
    const waiter = s === undefined ? undefined : takeWaiter(s.waiters, c.value, c.waiterRevision);
    if (s === undefined || waiter === undefined) return build.staleResult(c);
    return this.waiterLeft(s, index, waiter, "expired");
  }

  cancelWait(index: number, c: cmd.CancelWaitCommand): LockResult {
    const s = this.table.get(c.key);
    const waiter = s === undefined ? undefined : takeWaiter(s.waiters, c.value, null);
    if (s === undefined || waiter === undefined) {
      const holder = s?.holders.find((h) => h.value === c.value);
      return {
        type: "notQueued",
        key: c.key,
        value: c.value,
        heldToken: holder === undefined ? 0 : holder.token,
      };
    }
    return this.waiterLeft(s, index, waiter, "cancelled");
  }

  /** A waiter left: those behind it that now fit are granted in the same step. */
  private waiterLeft(
    s: MultiHolderState,
    index: number,
    waiter: PermitWaiter,
    reason: "expired" | "cancelled",
  ): LockResult {
    const grants = this.grantWaiters(s, index);
    this.host.markDirty(s.key);
    const { value, waiterRevision } = waiter;
    const removed = build.waiterRemovedResult(s.key, value, waiterRevision, reason, grants);
    return tagged(s, removed, waiter.count);
  }

  /** Grants the acquire `c` at once (token = this entry's index). */
  private grant(s: MultiHolderState, index: number, c: SlotsAcquire): LockResult {
    s.holders.push({
      value: c.value,
      token: index,
      leaseRevision: index,
      ttlMs: c.ttlMs,
      count: c.count,
    });
    s.held += c.count;
    this.host.markDirty(c.key);
    return tagged(s, build.grantedResult(c, index, index, false, true), c.count);
  }

  /**
   * Removes `value`'s holder when it is the grant `token` (any, for 0) and its lease is the one
   * `leaseRevision` set (any, for null); undefined when there is no such holder.
   */
  private takeHolder(
    s: MultiHolderState,
    value: string,
    token: number,
    leaseRevision: number | null,
  ): PermitHolder | undefined {
    const position = s.holders.findIndex(
      (h) =>
        h.value === value &&
        (token === 0 || h.token === token) &&
        (leaseRevision === null || h.leaseRevision === leaseRevision),
    );
    if (position < 0) return undefined;
    const holder = s.holders.splice(position, 1)[0]!;
    s.held -= holder.count;
    return holder;
  }

  /** `holder` was released or expired: waiters that now fit are granted in the same step. */
  private holderLeft(
    s: MultiHolderState,
    index: number,
    type: "released" | "expired",
    holder: PermitHolder,
  ): LockResult {
    const grants = this.grantWaiters(s, index);
    this.settle(s);
    const { key } = s;
    const { value, token } = holder;
    const ended = { key, value, token, next: null, permit: true as const, grants };
    return tagged(
      s,
      type === "released"
        ? { type, ...ended }
        : { type, ...ended, delayRevision: 0, lockDelayMs: 0 },
      holder.count,
    );
  }

  /** Grants waiters from the head while their slots fit (token = this entry's index). */
  private grantWaiters(s: MultiHolderState, index: number): WaiterGrant[] {
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
      const grant = build.waiterGrant(head, index);
      grant.count = head.count;
      grants.push(grant);
    }
    return grants;
  }

  /** Marks the key dirty and deletes it once nobody holds it. */
  private settle(s: MultiHolderState): void {
    this.host.markDirty(s.key);
    if (s.holders.length === 0) {
      if (s.waiters.length !== 0)
        throw new LockInvariantError(`semaphore ${s.key} has waiters but no holder`);
      this.table.delete(s.key);
    }
  }
}

/**
 * Marks a result of a reader-writer key (`rw`), for metrics and the client's handle, and gives it
 * the key's N and the share `count` of the value it concerns (SlotsShare, for watch events).
 */
function tagged(s: MultiHolderState, result: LockResult, count: number): LockResult {
  const shared = result as SlotsShare & { rw?: true };
  if (s.kind === "rw") shared.rw = true;
  shared.permits = s.permits;
  shared.count = count;
  return result;
}

/** A holder or waiter asked again for a different share of the key: refused, nothing changed. */
function countMismatch(
  s: MultiHolderState,
  c: SlotsAcquire,
  count: number,
  verb: "holds" | "waits for",
): RejectedResult {
  if (s.kind === "rw") {
    const mode = (slots: number): string => (slots === s.permits ? "write" : "read");
    return build.invalidArgument(
      c.key,
      "mode",
      `value already ${verb} a ${mode(count)} lock on "${c.key}"; ${verb === "holds" ? "release" : "cancel"} it before asking for a ${mode(c.count)} lock`,
    );
  }
  return build.invalidArgument(
    c.key,
    "count",
    verb === "holds"
      ? `value already holds ${count} permits of "${c.key}"; release them before asking for ${c.count}`
      : `value already waits for ${count} permits of "${c.key}"; cancel before asking for ${c.count}`,
  );
}

/**
 * The slots of a reader-writer key: its readers max, semaphorePermitsMax (at least 2, so a reader
 * and a writer never take the same number of slots).
 */
export function rwSlots(limits: TableLimits): number {
  return Math.max(2, limits.semaphorePermitsMax);
}
