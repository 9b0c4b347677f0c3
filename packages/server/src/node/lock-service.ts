// The lock service: turns client requests into lock-table commands on the leader, answers them
// from the applied results, runs the leader's lease clock (expiries proposed in batches) and
// keeps queued acquires waiting without polling. It touches no socket, disk or clock of its own:
// the host, the clock and the timers are injected, so the simulator runs this same code.
import type { Entry, NodeId } from "@dlock/raft";
import {
  AbortedError,
  InvalidArgumentError,
  LockBusyError,
  NotLeaderError,
  NotOwnerError,
} from "@dlock/protocol";
import type {
  AcquireResult,
  ClientRequest,
  DlockError,
  GetResult,
  LeaderHint,
  StatusResult,
} from "@dlock/protocol";
import type { RoleChange } from "../host/raft-host.js";
import { SlotRing } from "../host/slot-ring.js";
import type {
  ClientRequestContext,
  ClientRequestHandler,
  ClientResult,
} from "../client-server/client-request-handler.js";
import { encodeCommand, isRwWriter, multiHolderInfo, permitGrantsOf } from "../lock/index.js";
import type {
  LeaseCommand,
  LeaseManager,
  LockCommand,
  LockResult,
  LockStateMachine,
  SemaphoreState,
  WaiterGrant,
} from "../lock/index.js";
import { failureAfterApplied, hostFailureToWire, lockRefusalToWire } from "./wire-errors.js";
import type { LockServicePlantedBugs } from "./planted-service-bugs.js";
import { plantedServiceBugs } from "./planted-service-bugs.js";
import { WatchService } from "../watch/watch-service.js";
import type { WatchOptions } from "../watch/watch-options.js";

/** What the service needs of the Raft host (RaftHost in production, a simulated node in tests). */
export interface LockServiceHost {
  /** `onProposed` learns the log index the entry was given, in the turn it is proposed. */
  propose(data: Uint8Array, onProposed?: (index: number) => void): Promise<LockResult | undefined>;
  /** Resolves once a read of the table is linearizable (ReadIndex); leader only. */
  readIndex(): Promise<void>;
  onRoleChange(listener: (change: RoleChange) => void): () => void;
  onApply(
    listener: (entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>) => void,
  ): () => void;
}

/**
 * Keys whose leases a new leader times per turn of the event loop (see adoptLeases). Adopting a
 * million locks 16,384 at a time held the loop 50 ms a step (median, loaded 2-core machine), a
 * heartbeat interval; 4,096 at a time takes 12 ms a step and no longer in all.
 */
const ADOPT_STEP_KEYS = 4096;

/** One-shot timers; setTimeout/clearTimeout in production, virtual ones in the simulator. */
export interface ServiceTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const REAL_TIMERS: ServiceTimers = {
  set: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LockServiceOptions {
  host: LockServiceHost;
  table: LockStateMachine;
  leases: LeaseManager;
  /** The monotonic clock (ms) the leases are measured on. */
  nowMs: () => number;
  timers?: ServiceTimers;
  /** The client address of a member, for NOT_LEADER hints (null: unknown). */
  clientAddressOf: (id: NodeId) => string | null;
  /** The cluster as this node sees it, for `status`. */
  status: () => StatusResult;
  /** Lock delay applied to every grant's involuntary loss (0 = off). */
  lockDelayMs?: number;
  /** Event history and watch limits (defaults in watch-options.ts). */
  watch?: WatchOptions;
}

/** An acquire that joined a key's queue and waits for its grant on this leader. */
interface Waiting {
  key: string;
  value: string;
  connectionId: number;
  ttlMs: number;
  waitMs: number;
  requestId: number;
  receivedAtMs: number;
  /** What a semaphore or reader-writer acquire adds to a lock's (null: an exclusive lock). */
  shared: SharedAcquire | null;
  resolve: (result: AcquireResult) => void;
  reject: (error: DlockError) => void;
  /** Fires when waitMs ran out. */
  deadlineTimer: unknown;
  /** Re-sends the acquire so the queue lease (≤ ttl) does not end during a longer wait. */
  keepaliveTimer: unknown;
  cancelling: boolean;
}

const waitKey = (key: string, value: string): string => `${key}\u0000${value}`;

/** The fields of a semaphore's or reader-writer lock's acquire beyond a lock's. */
type SharedAcquire =
  | { type: "semaphoreAcquire"; permits: number; count: number }
  | { type: "rwAcquire"; mode: "read" | "write" };

export class LockService implements ClientRequestHandler {
  private readonly host: LockServiceHost;
  private readonly table: LockStateMachine;
  private readonly leases: LeaseManager;
  private readonly nowMs: () => number;
  private readonly timers: ServiceTimers;
  private readonly options: LockServiceOptions;
  // Deliberate bugs (planted-service-bugs.ts): only @dlock/server/internal can switch them on.
  private readonly bugs: Required<LockServicePlantedBugs>;
  private readonly waiting = new Map<string, Set<Waiting>>();
  /**
   * Per connection, its acquires between their proposal and their answer or waiter, and whether
   * it closed meanwhile: a waiter registered after its connection closed would hold its place (and
   * keep its queue lease alive) until its wait ran out, and then the lock for a whole ttl.
   */
  private readonly acquiringConnections = new Map<number, { acquires: number; closed: boolean }>();
  private readonly unsubscribe: Array<() => void> = [];
  private role: RoleChange["role"] = "follower";
  private leader: NodeId | null = null;
  private term = 0;
  private nextRequestId = 1;
  /**
   * Acquires between their proposal and the moment their continuation registers the waiter. The
   * entry that queues one and the release that grants it can be applied in one batch, before
   * the continuation runs: such a grant is kept here (with when its lease can have started at the earliest) and answered.
   */
  private readonly proposedAcquires = new SlotRing<{
    key: string;
    value: string;
    grant: WaiterGrant | null;
    grantedAtMs: number | null;
  }>();
  /**
   * When this node proposed each entry of its log not yet applied here (by index), on its clock:
   * the earliest a grant made by that entry can have started its lease anywhere (granted()).
   */
  private readonly proposedAtMs = new SlotRing<number>();
  private expiryTimer: unknown = null;
  private expiryDueMs = Number.POSITIVE_INFINITY;
  /** The term in which this leader proposed setLimits (0: none pending or done this term). */
  private limitsProposedTerm = 0;
  /** The term in which that proposal got a log index: later proposals follow it in the log. */
  private limitsInLogTerm = 0;
  private stopped = false;
  /** Watch and list (events derived from the applied results). */
  readonly watches: WatchService;

  constructor(options: LockServiceOptions) {
    this.options = options;
    this.bugs = plantedServiceBugs.of(options);
    this.host = options.host;
    this.table = options.table;
    this.leases = options.leases;
    this.nowMs = options.nowMs;
    this.timers = options.timers ?? REAL_TIMERS;
    this.watches = new WatchService({
      table: this.table,
      timers: this.timers,
      ...(options.watch === undefined ? {} : { watch: options.watch }),
    });
    this.unsubscribe.push(
      this.host.onRoleChange((change) => this.onRoleChange(change)),
      this.host.onApply((entries, results) => {
        this.onApplied(results);
        this.watches.onApplied(entries, results);
        // Through the last: an entry a snapshot replaced is never applied here.
        const last = entries.at(-1);
        if (last !== undefined) this.proposedAtMs.deleteThrough(last.index);
      }),
    );
  }

  /** Stops timers and fails what waits; the host is stopped separately. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const off of this.unsubscribe) off();
    this.clearExpiryTimer();
    this.failAllWaiting(() => new NotLeaderError(null, "the node is shutting down; retry"));
    this.watches.failAll(() => new NotLeaderError(null, "the node is shutting down; retry"));
  }

  get waitingCount(): number {
    let count = 0;
    for (const set of this.waiting.values()) count += set.size;
    return count;
  }

  // ---- ClientRequestHandler ----------------------------------------------------------------

  async handle(request: ClientRequest, context: ClientRequestContext): Promise<ClientResult> {
    switch (request.type) {
      case "status": {
        // The leader knows every member's progress: send the client there when it is reachable.
        // Without a leader this node's own view is the best answer there is.
        const hint = this.role === "leader" ? null : this.hintOf(this.leader);
        if (hint !== null && hint.clientAddress !== null) throw new NotLeaderError(hint);
        return this.options.status();
      }
      case "get":
        return this.get(request.key);
      case "watch":
        if (this.role !== "leader") throw new NotLeaderError(this.hintOf(this.leader));
        return this.watches.watch(request, context.connectionId);
      case "list":
        await this.linearizableRead();
        return this.watches.list(request);
      case "acquire":
      case "semaphoreAcquire":
      case "rwAcquire":
        return this.acquire(request, context);
      case "refresh": {
        const result = await this.propose({
          type: "refresh",
          key: request.key,
          value: request.value,
          token: request.token,
          ttlMs: request.ttlMs,
        });
        if (result.type === "refreshed") return { ttlMs: result.ttlMs };
        throw this.unexpected(result, request.key);
      }
      case "release": {
        const result = await this.propose({
          type: "release",
          key: request.key,
          value: request.value,
          token: request.token ?? 0,
        });
        if (result.type === "released") return { released: true };
        if (result.type === "notHeld") return { released: false };
        throw this.unexpected(result, request.key);
      }
      case "cancel": {
        this.dropWaiting(
          request.key,
          request.value,
          (w) => w.connectionId === context.connectionId,
        );
        const result = await this.propose({
          type: "cancelWait",
          key: request.key,
          value: request.value,
        });
        if (result.type === "waiterRemoved") return { cancelled: true };
        if (result.type === "notQueued") {
          // Granted before the cancel: the client gives that grant back by its token.
          return result.heldToken > 0
            ? { cancelled: false, fencingToken: result.heldToken }
            : { cancelled: false };
        }
        throw this.unexpected(result, request.key);
      }
      default:
        throw new InvalidArgumentError("type", "unknown request type");
    }
  }

  connectionClosed(connectionId: number): void {
    this.watches.connectionClosed(connectionId);
    const acquiring = this.acquiringConnections.get(connectionId);
    if (acquiring !== undefined) acquiring.closed = true;
    for (const [id, set] of this.waiting) {
      for (const w of set) {
        if (w.connectionId !== connectionId) continue;
        this.forget(id, w);
        this.leaveQueueUnlessWaited(w.key, w.value);
      }
    }
  }

  // ---- requests ----------------------------------------------------------------------------

  private async get(key: string): Promise<GetResult> {
    if (key.length === 0) throw new InvalidArgumentError("key", "must not be empty");
    await this.linearizableRead();
    const info = this.table.get(key);
    const semaphore = this.table.semaphoreState(key);
    if (semaphore !== undefined) return this.multiHolderGet(semaphore, info.waiters);
    return {
      held: info.held,
      value: info.value,
      fencingToken: info.held ? info.fencingToken : null,
      ttlRemainingMs: info.held
        ? Math.round(this.leases.remainingMs(key, this.nowMs()) ?? info.ttlMs)
        : null,
      waiters: info.waiters,
    };
  }

  /**
   * A semaphore's or reader-writer key's get: every holder with its lease left (and its permits,
   * or its mode), the newest token, the longest lease; an rw key's value is its writer's.
   */
  private multiHolderGet(s: Readonly<SemaphoreState>, waiters: number): GetResult {
    const nowMs = this.nowMs();
    const ttlsRemainingMs = s.holders.map((h) =>
      Math.round(this.leases.permitRemainingMs(s.key, h.value, nowMs) ?? h.ttlMs),
    );
    const writer = s.holders.find((h) => isRwWriter(s, h));
    const result: GetResult = {
      held: true,
      value: writer?.value ?? null,
      fencingToken: Math.max(...s.holders.map((h) => h.token)),
      ttlRemainingMs: Math.max(...ttlsRemainingMs),
      waiters,
    };
    Object.assign(result, multiHolderInfo(s, ttlsRemainingMs));
    return result;
  }

  /** On the leader, once a read of the table is linearizable (ReadIndex); else NOT_LEADER. */
  private async linearizableRead(): Promise<void> {
    if (this.role !== "leader") throw new NotLeaderError(this.hintOf(this.leader));
    if (this.bugs.readWithoutReadIndex) return;
    try {
      await this.host.readIndex();
    } catch (error) {
      throw hostFailureToWire(error, (leader) => this.hintOf(leader ?? this.leader));
    }
  }

  private async acquire(
    request: Extract<ClientRequest, { type: "acquire" | "semaphoreAcquire" | "rwAcquire" }>,
    context: ClientRequestContext,
  ): Promise<AcquireResult> {
    const waitMs = request.waitMs ?? 0;
    const shared: SharedAcquire | null =
      request.type === "semaphoreAcquire"
        ? { type: request.type, permits: request.permits, count: request.count ?? 1 }
        : request.type === "rwAcquire"
          ? { type: request.type, mode: request.mode }
          : null;
    const requestId = this.nextRequestId++;
    const term = this.term;
    const proposed = { key: request.key, value: request.value, grant: null, grantedAtMs: null };
    this.proposedAcquires.set(requestId, proposed);
    // Only an acquire that may wait can queue: the others need no watch on their connection.
    const connection = waitMs > 0 ? this.acquireStarted(context.connectionId) : null;
    let result: LockResult;
    try {
      result = await this.propose(
        this.acquireCommand(request.key, request.value, request.ttlMs, waitMs, requestId, shared),
      );
    } finally {
      this.proposedAcquires.delete(requestId);
      if (connection !== null) this.acquireEnded(context.connectionId, connection);
    }
    const early = proposed.grant as WaiterGrant | null;
    if (result.type === "queued" && early !== null) {
      return {
        fencingToken: early.token,
        ttlMs: early.ttlMs,
        waitedMs: waitedMs(proposed.grantedAtMs, context.receivedAtMs),
      };
    }
    if (result.type === "granted")
      return { fencingToken: result.token, ttlMs: result.ttlMs, waitedMs: 0 };
    if (result.type === "busy") throw new LockBusyError(request.key);
    if (result.type !== "queued") throw this.unexpected(result, request.key);
    // Waiting is answered by this leader's grant; a leader change in between means the new
    // leader never saw our receipt time, so the client must ask it again.
    if (this.role !== "leader" || this.term !== term || this.stopped) {
      throw new NotLeaderError(this.hintOf(this.leader), "leadership changed while queuing; retry");
    }
    if (connection?.closed === true) {
      // Nobody is left to answer, as in connectionClosed(); the answer below goes nowhere.
      this.leaveQueueUnlessWaited(request.key, request.value);
      throw new AbortedError("the connection closed while the acquire was queuing");
    }
    return new Promise<AcquireResult>((resolve, reject) => {
      const w: Waiting = {
        key: request.key,
        value: request.value,
        connectionId: context.connectionId,
        ttlMs: request.ttlMs,
        waitMs,
        requestId,
        shared,
        receivedAtMs: context.receivedAtMs,
        resolve,
        reject,
        deadlineTimer: null,
        keepaliveTimer: null,
        cancelling: false,
      };
      const remainingMs = Math.max(0, context.receivedAtMs + waitMs - this.nowMs());
      w.deadlineTimer = this.timers.set(() => this.waitRanOut(w), remainingMs);
      if (waitMs > request.ttlMs) this.scheduleKeepalive(w);
      const id = waitKey(w.key, w.value);
      let set = this.waiting.get(id);
      if (set === undefined) {
        set = new Set();
        this.waiting.set(id, set);
      }
      set.add(w);
    });
  }

  private acquireStarted(connectionId: number): { acquires: number; closed: boolean } {
    let connection = this.acquiringConnections.get(connectionId);
    if (connection === undefined) {
      connection = { acquires: 0, closed: false };
      this.acquiringConnections.set(connectionId, connection);
    }
    connection.acquires++;
    return connection;
  }

  private acquireEnded(connectionId: number, connection: { acquires: number }): void {
    if (--connection.acquires === 0) this.acquiringConnections.delete(connectionId);
  }

  private scheduleKeepalive(w: Waiting): void {
    // The queue lease is min(wait, ttl) from each acquire's apply: renew it well before it ends.
    w.keepaliveTimer = this.timers.set(
      () => {
        w.keepaliveTimer = null;
        if (!this.isWaiting(w) || w.cancelling) return;
        this.propose({
          ...this.acquireCommand(w.key, w.value, w.ttlMs, w.waitMs, w.requestId, w.shared),
          renewOnly: true,
        }).then(
          (result) => {
            if (result.type === "granted") {
              this.settle(w, { fencingToken: result.token, ttlMs: result.ttlMs, waitedMs: 0 });
            } else if (result.type === "queued") {
              if (this.isWaiting(w)) this.scheduleKeepalive(w);
            } else if (result.type === "busy") {
              // The wait ended (expired or cancelled) before this keepalive applied.
              this.fail(w, new LockBusyError(w.key, `lock "${w.key}": the wait ended`));
            } else {
              this.fail(w, this.unexpected(result, w.key));
            }
          },
          (error: unknown) => this.fail(w, error as DlockError),
        );
      },
      Math.max(1, Math.floor(w.ttlMs / 3)),
    );
  }

  /** The command of an acquire of any kind (only locks have a lock delay). */
  private acquireCommand(
    key: string,
    value: string,
    ttlMs: number,
    waitMs: number,
    requestId: number,
    shared: SharedAcquire | null,
  ): LockCommand & { type: "acquire" | "semaphoreAcquire" | "rwAcquire" } {
    if (shared !== null) return { ...shared, key, value, ttlMs, waitMs, requestId };
    const lockDelayMs = this.options.lockDelayMs ?? 0;
    return { type: "acquire", key, value, ttlMs, waitMs, lockDelayMs, requestId };
  }

  private waitRanOut(w: Waiting): void {
    w.deadlineTimer = null;
    if (!this.isWaiting(w) || w.cancelling) return;
    w.cancelling = true;
    // Answer only after the cancel is applied: a grant applied before it wins and is answered.
    this.propose({ type: "cancelWait", key: w.key, value: w.value }).then(
      () =>
        this.fail(w, new LockBusyError(w.key, `lock "${w.key}" was not granted within the wait`)),
      (error: unknown) => this.fail(w, error as DlockError),
    );
  }

  // ---- applied results and leases ----------------------------------------------------------

  private onApplied(results: ReadonlyArray<LockResult | undefined>): void {
    const now = this.nowMs();
    for (const result of results) {
      if (result === undefined) continue;
      this.leases.onApplied(result, now);
      for (const grant of permitGrantsOf(result)) this.granted(result.key, grant, now);
      switch (result.type) {
        case "released":
        case "expired":
        case "delayCleared":
          if (result.next !== null) this.granted(result.key, result.next, now);
          break;
        case "waiterRemoved":
          if (result.reason === "expired") {
            for (const w of this.waitersOf(result.key, result.value)) {
              this.fail(w, new LockBusyError(result.key, `lock "${result.key}": the wait ended`));
            }
          }
          break;
        default:
          break;
      }
    }
    if (this.role === "leader") {
      this.proposeLimits();
      this.scheduleExpiries();
    }
  }

  /**
   * On the leader: proposes this node's configured limits when the ones in force differ (or were
   * never replicated), once a term. Also run after applies, as the table of a new leader may not
   * yet have applied an older leader's setLimits when it is elected.
   */
  private proposeLimits(): void {
    if (this.role !== "leader" || this.stopped || this.limitsProposedTerm === this.term) return;
    const command = this.table.limitsProposal();
    if (command === null) return;
    const term = this.term;
    this.limitsProposedTerm = term;
    this.host
      .propose(encodeCommand(command), () => {
        this.limitsInLogTerm = term;
      })
      .catch(() => {
        if (this.term !== term || this.role !== "leader") return;
        // Refused (a full queue, a storage fault): try again a little later, still this term.
        this.limitsProposedTerm = 0;
        this.timers.set(() => this.proposeLimits(), this.table.configuredLimits.electionTimeoutMs);
      });
  }

  private granted(key: string, grant: WaiterGrant, now: number): void {
    // The client counts its validity from sent + waited, so `waited` must end no later than the
    // start of this grant's lease on every leader that will ever time it. A later leader starts it
    // at its election or its apply, both after the granting entry (index = token) committed, so
    // after we proposed it; this node may apply it much later (a slow disk, or a leader that has
    // not yet heard of its successor). So the wait ends at our proposal of that entry; an entry we
    // did not propose gives no bound, and the wait counts as 0 (always safe: leases start after
    // the request was received).
    const proposedAtMs = this.proposedAtMs.get(grant.token);
    let startedAtMs = proposedAtMs === undefined ? null : Math.min(now, proposedAtMs);
    if (this.bugs.waitEndsAtApply) startedAtMs = now; // the deliberate bug: this node's apply
    const proposed = this.proposedAcquires.get(grant.requestId);
    if (proposed !== undefined && proposed.key === key && proposed.value === grant.value) {
      proposed.grant = grant;
      proposed.grantedAtMs = startedAtMs;
    }
    for (const w of this.waitersOf(key, grant.value)) {
      this.settle(w, {
        fencingToken: grant.token,
        ttlMs: grant.ttlMs,
        waitedMs: waitedMs(startedAtMs, w.receivedAtMs),
      });
    }
  }

  private onRoleChange(change: RoleChange): void {
    const wasLeader = this.role === "leader";
    const termChanged = change.term !== this.term;
    this.role = change.role;
    this.leader = change.leader;
    this.term = change.term;
    if (change.role === "leader" && (!wasLeader || termChanged)) {
      // Ahead of every lease and client command of this term in the log.
      this.proposeLimits();
      this.leases.startAdoption(change.atMs, this.table);
      this.adoptLeases();
    } else if (change.role !== "leader" && wasLeader) {
      this.leases.becomeFollower();
      this.clearExpiryTimer();
      const hint = this.hintOf(change.leader);
      this.failAllWaiting(() => new NotLeaderError(hint, "leadership moved; retry on the leader"));
      this.watches.failAll(() => new NotLeaderError(hint, "leadership moved; watch on the leader"));
    }
  }

  /**
   * Times the table's leases on a new leader, ADOPT_STEP_KEYS keys per turn of the event loop:
   * a million in one go held the new leader for seconds, and its followers elected another.
   */
  private adoptLeases(): void {
    if (this.stopped || this.role !== "leader") return;
    const done = this.leases.adoptStep(ADOPT_STEP_KEYS);
    this.scheduleExpiries();
    if (!done) this.timers.set(() => this.adoptLeases(), 0);
  }

  /** Arms the timer for the earliest lease command due, if earlier than the one armed. */
  private scheduleExpiries(): void {
    if (this.stopped) return;
    const due = this.leases.nextDueMs();
    if (due === null) {
      this.clearExpiryTimer();
      return;
    }
    if (this.expiryTimer !== null && due >= this.expiryDueMs) return;
    this.clearExpiryTimer();
    this.expiryDueMs = due;
    this.expiryTimer = this.timers.set(
      () => {
        this.expiryTimer = null;
        this.expiryDueMs = Number.POSITIVE_INFINITY;
        this.proposeExpiries();
      },
      Math.max(0, due - this.nowMs()),
    );
  }

  private proposeExpiries(): void {
    if (this.role !== "leader" || this.stopped) return;
    // Proposed in the same turn: the host folds them into one Raft batch and one fsync.
    for (const command of this.leases.dueExpiries(this.nowMs())) {
      this.proposeEntry(command).catch(() => this.leaseProposalFailed(command));
    }
    this.scheduleExpiries();
  }

  private leaseProposalFailed(command: LeaseCommand): void {
    this.leases.proposalFailed(command);
    if (this.role === "leader") this.scheduleExpiries();
  }

  private clearExpiryTimer(): void {
    if (this.expiryTimer !== null) this.timers.clear(this.expiryTimer);
    this.expiryTimer = null;
    this.expiryDueMs = Number.POSITIVE_INFINITY;
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Proposes `command`, noting when: a grant's lease starts no earlier (see granted()). */
  private proposeEntry(command: LockCommand): Promise<LockResult | undefined> {
    return this.host.propose(encodeCommand(command), (index) =>
      this.proposedAtMs.set(index, this.nowMs()),
    );
  }

  /** Validates and proposes a client command on the leader; resolves with its applied result. */
  private async propose(command: LockCommand): Promise<LockResult> {
    // Refused before proposing: the client may treat these as having had no effect.
    if (this.stopped) {
      throw new NotLeaderError(null, "the node is shutting down; retry", { notApplied: true });
    }
    const refusal = this.table.validate(command);
    if (refusal !== null) throw lockRefusalToWire(refusal, command.key);
    if (this.role !== "leader") {
      throw new NotLeaderError(this.hintOf(this.leader), undefined, { notApplied: true });
    }
    // A table without replicated limits applies by this node's flags: no client command goes
    // into the log before this leader's setLimits does (see LockStateMachine).
    if (!this.table.limitsReplicated && this.limitsInLogTerm !== this.term) {
      throw new NotLeaderError(null, "the leader is setting the table limits; retry", {
        notApplied: true,
      });
    }
    let result: LockResult | undefined;
    try {
      result = await this.proposeEntry(command);
    } catch (error) {
      throw hostFailureToWire(error, (leader) => this.hintOf(leader ?? this.leader));
    }
    if (result === undefined) throw hostFailureToWire(new Error("no result"), () => null);
    if (result.type === "rejected") throw lockRefusalToWire(result, command.key);
    return result;
  }

  private unexpected(result: LockResult, key: string): DlockError {
    if (result.type === "notHeld") {
      return new NotOwnerError(`lock "${key}" is not held by that value and token`);
    }
    if (result.type === "rejected") return lockRefusalToWire(result, key);
    return hostFailureToWire(
      new Error(`unexpected result ${result.type} for "${key}"`),
      () => null,
    );
  }

  private hintOf(leader: NodeId | null): LeaderHint | null {
    if (leader === null) return null;
    return { id: leader, clientAddress: this.options.clientAddressOf(leader) };
  }

  /**
   * A waiter nobody is left to answer leaves the queue now rather than when its queue lease
   * ends, unless another request of the same value still waits here for that key.
   */
  private leaveQueueUnlessWaited(key: string, value: string): void {
    if (this.waiting.has(waitKey(key, value)) || this.role !== "leader" || this.stopped) return;
    this.propose({ type: "cancelWait", key, value }).catch(() => {
      // The queue lease ends it anyway.
    });
  }

  private waitersOf(key: string, value: string): Waiting[] {
    const set = this.waiting.get(waitKey(key, value));
    return set === undefined ? [] : Array.from(set);
  }

  private isWaiting(w: Waiting): boolean {
    return this.waiting.get(waitKey(w.key, w.value))?.has(w) ?? false;
  }

  private settle(w: Waiting, result: AcquireResult): void {
    if (!this.isWaiting(w)) return;
    this.forget(waitKey(w.key, w.value), w);
    w.resolve(result);
  }

  private fail(w: Waiting, error: DlockError): void {
    if (!this.isWaiting(w)) return;
    this.forget(waitKey(w.key, w.value), w);
    // A waiter's acquire was applied (queued): a later proposal's refusal is not its outcome.
    w.reject(failureAfterApplied(error));
  }

  private forget(id: string, w: Waiting): void {
    if (w.deadlineTimer !== null) this.timers.clear(w.deadlineTimer);
    if (w.keepaliveTimer !== null) this.timers.clear(w.keepaliveTimer);
    w.deadlineTimer = null;
    w.keepaliveTimer = null;
    const set = this.waiting.get(id);
    set?.delete(w);
    if (set !== undefined && set.size === 0) this.waiting.delete(id);
  }

  private dropWaiting(key: string, value: string, match: (w: Waiting) => boolean): void {
    const id = waitKey(key, value);
    for (const w of this.waitersOf(key, value)) if (match(w)) this.forget(id, w);
  }

  private failAllWaiting(errorOf: () => DlockError): void {
    for (const set of Array.from(this.waiting.values())) {
      for (const w of Array.from(set)) this.fail(w, errorOf());
    }
  }
}

/** How long a waiter waited before its grant's lease started; 0 when that start is not known. */
function waitedMs(startedAtMs: number | null, receivedAtMs: number): number {
  return startedAtMs === null ? 0 : Math.max(0, Math.floor(startedAtMs - receivedAtMs));
}
