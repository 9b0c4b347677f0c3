import type { LeaseCommand } from "./commands.js";
import { ELECTION_KEY_PREFIX, positiveInteger } from "@dlock/protocol";
import type { KeyState } from "./key-state.js";
import { waiterLeaseMs } from "./key-state.js";
import type { PlantedLockBugs } from "./planted-lock-bugs.js";
import { plantedLockBugsOf } from "./planted-lock-bugs.js";
import type { LockResult, WaiterGrant } from "./results.js";
import { permitGrantsOf } from "./results.js";
import type { LockStateMachine } from "./state-machine.js";
import { KeyArena } from "./key-arena.js";
import { Float64Pages, Uint8Pages } from "./paged-array.js";
import { SlotIndex } from "./slot-index.js";
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
type Kind = typeof KIND_LOCK | typeof KIND_WAITER | typeof KIND_DELAY | typeof KIND_PERMIT;

/**
 * The leases the leader times (a grant's lease, a waiter's queue lease or a lock delay), one id
 * each, their fields in paged typed arrays: a million held locks are a few arrays, not a million
 * objects, and they grow a page at a time. Only what every lease has gets a column (some 40 bytes
 * per id with the heap's, where a deadline, a pending flag and a value column made it 57): the
 * heap's due time is the deadline, except while an expiry is pending (handed out, not applied),
 * when it is the retry time and `pendingDeadlineMs` keeps the deadline; waiters and semaphore
 * holders, few next to the locks, keep their values in a map.
 */
class LeaseTimers {
  readonly heap = new TimerHeap();
  readonly kind = new Uint8Pages();
  /** Fencing token of the grant (lock and permit timers only). */
  readonly token = new Float64Pages();
  /** The revision the lease command will name: leaseRevision, waiterRevision or delayRevision. */
  readonly revision = new Float64Pages();
  /** Each timer's key, as bytes (see KeyArena: a leader times every held lock). */
  private readonly key = new KeyArena();
  /** The waiter's or permit holder's value (waiter and permit timers only). */
  private readonly values = new Map<number, string>();
  /**
   * When the lease ends on this leader's monotonic clock, for the ids whose expiry was handed out
   * and has not been applied yet (for the others it is the heap's due time).
   */
  private readonly pendingDeadlineMs = new Map<number, number>();
  private readonly freeIds: number[] = [];
  private idsUsed = 0;

  allocate(kind: Kind, key: string, value: string): number {
    const id = this.freeIds.pop() ?? this.idsUsed++;
    if (id >= this.kind.capacity) {
      for (const field of [this.kind, this.token, this.revision]) field.reserve(id);
    }
    this.kind.put(id, kind);
    this.key.put(id, key);
    if (kind === KIND_WAITER || kind === KIND_PERMIT) this.values.set(id, value);
    return id;
  }

  /** The key of a timer in use. */
  keyOf(id: number): string {
    const key = this.key.at(id);
    if (key === undefined) throw new Error(`lease timer ${id} is not in use`);
    return key;
  }

  /** Whether timer `id` is for `key` (without making a string of its key). */
  isFor(id: number, key: string): boolean {
    return this.key.equals(id, key);
  }

  valueOf(id: number): string {
    return this.values.get(id) ?? "";
  }

  /** When the lease of `id` ends (whether or not its expiry is pending). */
  deadlineMsOf(id: number): number {
    return this.pendingDeadlineMs.get(id) ?? this.heap.dueMsOf(id);
  }

  /** (Re)starts the lease of `id`: due at `deadlineMs`, nothing pending. */
  arm(id: number, token: number, revision: number, deadlineMs: number): void {
    this.token.put(id, token);
    this.revision.put(id, revision);
    this.pendingDeadlineMs.delete(id);
    this.heap.upsert(id, deadlineMs);
  }

  /** Its expiry was handed out: due again at `retryMs` unless applied (or failed) before. */
  markPending(id: number, retryMs: number): void {
    if (!this.pendingDeadlineMs.has(id)) this.pendingDeadlineMs.set(id, this.heap.dueMsOf(id));
    this.heap.upsert(id, retryMs);
  }

  /** Its expiry's proposal failed: due again at its deadline. */
  unmarkPending(id: number): void {
    const deadlineMs = this.pendingDeadlineMs.get(id);
    if (deadlineMs === undefined) return;
    this.pendingDeadlineMs.delete(id);
    this.heap.upsert(id, deadlineMs);
  }

  free(id: number): void {
    this.heap.remove(id);
    this.key.remove(id);
    this.values.delete(id);
    this.pendingDeadlineMs.delete(id);
    this.freeIds.push(id);
  }

  clear(): void {
    this.heap.clear();
    this.key.clear();
    this.values.clear();
    this.pendingDeadlineMs.clear();
    for (const field of [this.kind, this.token, this.revision]) field.clear();
    this.freeIds.length = 0;
    this.idsUsed = 0;
  }
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
  private readonly timers = new LeaseTimers();
  /** Lock and delay timers by key: ids whose keys the timers hold (see SlotIndex). */
  private readonly locks = new SlotIndex((id, key) => this.timers.isFor(id, key));
  private readonly delays = new SlotIndex((id, key) => this.timers.isFor(id, key));
  private readonly waiters = new Map<string, Map<string, number>>();
  private waiterCount = 0;
  /** Semaphore holders' leases by key, then value (several holders share a key). */
  private readonly permits = new Map<string, Map<string, number>>();
  private permitCount = 0;
  /** The table's keys still to time after startAdoption(), and the election time. */
  private adoption: { nowMs: number; states: Iterator<Readonly<KeyState>> } | null = null;

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
    this.startAdoption(nowMs, table);
    this.adoptStep(Number.POSITIVE_INFINITY);
  }

  /**
   * becomeLeader() in steps: a new leader of a million locks timed them all in one synchronous
   * step of seconds, long enough for its followers to elect another. This makes it leader; each
   * adoptStep() then times the leases of up to `maxKeys` more keys, from the same `nowMs`, so the
   * deadlines are exactly becomeLeader()'s. Meanwhile a lease not yet timed is merely not expired
   * yet (late is safe), and a key that an applied entry timed since is left as that entry set it.
   */
  startAdoption(nowMs: number, table: LockStateMachine): void {
    this.reset();
    this.leader = true;
    this.adoption = { nowMs, states: table.states() };
    // Semaphore keys are few next to a lock table; they are timed at once, before any entry.
    const noExtension = this.bugs.noLeaseExtensionOnElection;
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

  /** Times up to `maxKeys` more keys of the adoption; true once every key is timed. */
  adoptStep(maxKeys: number): boolean {
    const adoption = this.adoption;
    if (adoption === null) return true;
    const { nowMs, states } = adoption;
    const noExtension = this.bugs.noLeaseExtensionOnElection;
    for (let visited = 0; visited < maxKeys; visited++) {
      const next = states.next();
      if (next.done === true) {
        this.adoption = null;
        return true;
      }
      const s = next.value;
      if (s.holder !== null && !this.locks.has(s.key))
        this.setLock(s.key, s.token, s.leaseRevision, noExtension ? nowMs : nowMs + s.ttlMs);
      if (s.delayRevision > 0 && !this.delays.has(s.key))
        this.setDelay(s.key, s.delayRevision, nowMs + s.delayMs);
      for (const w of s.waiters) {
        if (this.waiters.get(s.key)?.has(w.value) === true) continue;
        this.setWaiter(s.key, w.value, w.waiterRevision, nowMs + waiterLeaseMs(w));
      }
    }
    return false;
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
        this.setLock(
          result.key,
          result.token,
          result.leaseRevision,
          nowMs + this.leaseMsOf(result),
        );
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
    const { heap } = this.timers;
    while (out.length < limit) {
      const id = heap.peek();
      if (id < 0 || heap.dueMsOf(id) > nowMs) break;
      out.push(this.commandOf(id));
      this.timers.markPending(id, nowMs + this.options.expireRetryMs);
    }
    return out;
  }

  /** The proposal of `command` was refused: make it due again at once. */
  proposalFailed(command: LeaseCommand): void {
    const id = this.timerOf(command);
    if (id !== undefined) this.timers.unmarkPending(id);
  }

  /** When the host should call dueExpiries next (null: nothing timed). */
  nextDueMs(): number | null {
    const id = this.timers.heap.peek();
    return id < 0 ? null : this.timers.heap.dueMsOf(id);
  }

  /**
   * Remaining lease of the key's grant on this leader's clock (null if not timed). Informational
   * (`get`'s ttlRemainingMs): a client must never count a validity from it (see WaiterGrant).
   */
  remainingMs(key: string, nowMs: number): number | null {
    const id = this.locks.get(key);
    if (id < 0) return null;
    return Math.max(0, this.timers.deadlineMsOf(id) - nowMs);
  }

  /** Lease time left of the semaphore holder `value` of `key` (null if not timed). */
  permitRemainingMs(key: string, value: string, nowMs: number): number | null {
    const id = this.permits.get(key)?.get(value);
    if (id === undefined) return null;
    return Math.max(0, this.timers.deadlineMsOf(id) - nowMs);
  }

  /** Deadline of a waiter's queue lease on this leader's clock (null if not timed). */
  waiterDeadlineMs(key: string, value: string): number | null {
    const id = this.waiters.get(key)?.get(value);
    return id === undefined ? null : this.timers.deadlineMsOf(id);
  }

  // ---- internals ----------------------------------------------------------------------------

  private reset(): void {
    this.leader = false;
    this.timers.clear();
    this.adoption = null;
    this.locks.clear();
    this.delays.clear();
    this.waiters.clear();
    this.waiterCount = 0;
    this.permits.clear();
    this.permitCount = 0;
  }

  private setLock(key: string, token: number, revision: number, deadlineMs: number): void {
    let id = this.locks.get(key);
    if (id < 0) {
      id = this.timers.allocate(KIND_LOCK, key, "");
      this.locks.addIfAbsent(key, id);
    }
    this.timers.arm(id, token, revision, deadlineMs);
  }

  private removeLock(key: string): void {
    const id = this.locks.get(key);
    if (id < 0) return;
    this.locks.delete(key); // while the timer still holds the key, which the index compares
    this.timers.free(id);
  }

  private setDelay(key: string, revision: number, deadlineMs: number): void {
    let id = this.delays.get(key);
    if (id < 0) {
      id = this.timers.allocate(KIND_DELAY, key, "");
      this.delays.addIfAbsent(key, id);
    }
    this.timers.arm(id, 0, revision, deadlineMs);
  }

  private removeDelay(key: string): void {
    const id = this.delays.get(key);
    if (id < 0) return;
    this.delays.delete(key); // before the timer forgets its key
    this.timers.free(id);
  }

  private setWaiter(key: string, value: string, revision: number, deadlineMs: number): void {
    let byValue = this.waiters.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      this.waiters.set(key, byValue);
    }
    let id = byValue.get(value);
    if (id === undefined) {
      id = this.timers.allocate(KIND_WAITER, key, value);
      byValue.set(value, id);
      this.waiterCount++;
    }
    this.timers.arm(id, 0, revision, deadlineMs);
  }

  /** Removes the waiter's timer; returns its deadline (undefined if it was not timed). */
  private removeWaiter(key: string, value: string): number | undefined {
    const byValue = this.waiters.get(key);
    const id = byValue?.get(value);
    if (byValue === undefined || id === undefined) return undefined;
    const deadlineMs = this.timers.deadlineMsOf(id);
    this.timers.free(id);
    byValue.delete(value);
    this.waiterCount--;
    if (byValue.size === 0) this.waiters.delete(key);
    return deadlineMs;
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
    let id = byValue.get(value);
    if (id === undefined) {
      id = this.timers.allocate(KIND_PERMIT, key, value);
      byValue.set(value, id);
      this.permitCount++;
    }
    this.timers.arm(id, token, revision, deadlineMs);
  }

  private removePermit(key: string, value: string): void {
    const byValue = this.permits.get(key);
    const id = byValue?.get(value);
    if (byValue === undefined || id === undefined) return;
    this.timers.free(id);
    byValue.delete(value);
    this.permitCount--;
    if (byValue.size === 0) this.permits.delete(key);
  }

  /** A semaphore waiter granted in some step: a fresh permit lease from this apply. */
  private grantPermitWaiter(key: string, grant: WaiterGrant, nowMs: number): void {
    const waiterDeadlineMs = this.removeWaiter(key, grant.value);
    const deadlineMs =
      this.bugs.grantWaiterWithoutLeaseCheck && waiterDeadlineMs !== undefined
        ? waiterDeadlineMs
        : nowMs + grant.ttlMs;
    this.setPermit(key, grant.value, grant.token, grant.leaseRevision, deadlineMs);
  }

  // A lock holder's lease from this apply: its TTL (a quarter of it under electionLeaseCutShort,
  // a line comment so that the public declaration does not mention the bug).
  private leaseMsOf(result: { key: string; ttlMs: number }): number {
    const cut = this.bugs.electionLeaseCutShort && result.key.startsWith(ELECTION_KEY_PREFIX);
    return cut ? result.ttlMs / 4 : result.ttlMs;
  }

  /** A waiter granted in a release/expire/delay-end step: a fresh lock lease from this apply. */
  private grantWaiter(key: string, grant: WaiterGrant, nowMs: number): void {
    const waiterDeadlineMs = this.removeWaiter(key, grant.value);
    const deadlineMs =
      this.bugs.grantWaiterWithoutLeaseCheck && waiterDeadlineMs !== undefined
        ? waiterDeadlineMs
        : nowMs + this.leaseMsOf({ key, ttlMs: grant.ttlMs });
    this.setLock(key, grant.token, grant.leaseRevision, deadlineMs);
  }

  private timerOf(command: LeaseCommand): number | undefined {
    const { token, revision } = this.timers;
    let id: number | undefined;
    if (command.type === "expire") {
      id = idOrUndefined(this.locks.get(command.key));
      if (
        id !== undefined &&
        (token.at(id) !== command.token || revision.at(id) !== command.leaseRevision)
      )
        return undefined;
    } else if (command.type === "permitExpire") {
      id = this.permits.get(command.key)?.get(command.value);
      if (
        id !== undefined &&
        (token.at(id) !== command.token || revision.at(id) !== command.leaseRevision)
      )
        return undefined;
    } else if (command.type === "waiterExpire") {
      id = this.waiters.get(command.key)?.get(command.value);
      if (id !== undefined && revision.at(id) !== command.waiterRevision) return undefined;
    } else {
      id = idOrUndefined(this.delays.get(command.key));
      if (id !== undefined && revision.at(id) !== command.delayRevision) return undefined;
    }
    return id;
  }

  /**
   * A lease command that the table found stale while this manager still times that exact
   * revision: the two views disagree (e.g. a waiter left the queue by a path this manager did
   * not see), so the table wins and the timer goes.
   */
  private dropStale(command: LeaseCommand): void {
    const id = this.timerOf(command);
    if (id === undefined) return;
    const { kind } = this.timers;
    const key = this.timers.keyOf(id);
    const value = this.timers.valueOf(id);
    if (kind.at(id) === KIND_LOCK) this.removeLock(key);
    else if (kind.at(id) === KIND_WAITER) this.removeWaiter(key, value);
    else if (kind.at(id) === KIND_PERMIT) this.removePermit(key, value);
    else this.removeDelay(key);
  }

  private commandOf(id: number): LeaseCommand {
    const { kind, token, revision } = this.timers;
    const key = this.timers.keyOf(id);
    if (kind.at(id) === KIND_LOCK)
      return {
        type: "expire",
        key,
        token: token.at(id),
        leaseRevision: revision.at(id),
      };
    if (kind.at(id) === KIND_PERMIT)
      return {
        type: "permitExpire",
        key,
        value: this.timers.valueOf(id),
        token: token.at(id),
        leaseRevision: revision.at(id),
      };
    if (kind.at(id) === KIND_WAITER)
      return {
        type: "waiterExpire",
        key,
        value: this.timers.valueOf(id),
        waiterRevision: revision.at(id),
      };
    return { type: "clearDelay", key, delayRevision: revision.at(id) };
  }
}

/** A SlotIndex lookup (-1: none) as the other timer lookups give it. */
function idOrUndefined(id: number): number | undefined {
  return id < 0 ? undefined : id;
}
