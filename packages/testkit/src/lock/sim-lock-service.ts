import type {
  AcquireResult,
  CancelResult,
  ClientRequest,
  GetResult,
  LeaderHint,
  RefreshResult,
  ReleaseResult,
  StatusResult,
} from "@dlock/protocol";
import {
  ClusterUnavailableError,
  InternalError,
  InvalidArgumentError,
  LockBusyError,
  NotLeaderError,
  NotOwnerError,
  OverloadedError,
} from "@dlock/protocol";
import type { Entry } from "@dlock/raft";
import type {
  LeaseManager,
  LockCommand,
  LockResult,
  LockStateMachine,
  RejectedResult,
  WaiterGrant,
} from "@dlock/server/lock";
import { encodeCommand } from "@dlock/server/lock";

// A thin stand-in for the server's request path (lead's LockService in
// packages/server/src/node/lock-service.ts): protocol request → validate → propose or ReadIndex →
// answer from the apply result. It runs on the simulated node through LockServiceHost; the lock
// world talks to it only through the LockRequestService interface, so the real service plugs in
// at the same place.

/** What the request path needs from its node. */
export interface LockServiceHost {
  readonly nodeId: string;
  /** The node runs and believes it leads. */
  isLeader(): boolean;
  /** Where the leader is, as far as this node knows. */
  leaderHint(): LeaderHint | null;
  /** Proposes lock command data; returns the refusal's code instead of throwing. */
  propose(data: Uint8Array): { index: number; term: number } | { error: string };
  /** Starts a ReadIndex read; the answer comes through onReadState / onReadDropped. */
  readIndex(requestId: number): { error: string } | undefined;
  appliedIndex(): number;
  table(): LockStateMachine;
  leases(): LeaseManager;
  /** The node's monotonic clock. */
  nowMs(): number;
  status(): StatusResult;
  /** A number no other request in the cluster uses (waiter request ids, read ids). */
  uniqueNumber(): number;
}

/** Deliberate bugs of the request path, for the simulator's planted-bug tests. */
export interface PlantedServiceBugs {
  /** The leader answers `get` from its own table at once, without a ReadIndex round. */
  readWithoutReadIndex?: boolean;
}

/** The request path as the lock world drives it. */
export interface LockRequestService {
  handle(request: ClientRequest): Promise<unknown>;
  /** A committed entry was applied (after the table and the lease manager saw it). */
  onApplied(entry: Entry, result: LockResult | undefined): void;
  onReadState(requestId: number, index: number): void;
  onReadDropped(requestId: number): void;
  /** The node stopped leading: requests waiting on its proposals and reads cannot be answered. */
  onLeadershipLost(): void;
}

interface Waiting<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

interface PendingProposal extends Waiting<LockResult> {
  term: number;
}

interface PendingRead extends Waiting<GetResult> {
  key: string;
  /** Set once the read's index is known; answered when the table has applied it. */
  index: number;
}

export class SimLockService implements LockRequestService {
  private readonly proposals = new Map<number, PendingProposal>();
  /** Queued acquires by key and value: answered by the WaiterGrant (or removal) of that waiter. */
  private readonly waiters = new Map<string, Waiting<AcquireResult>>();
  private readonly reads = new Map<number, PendingRead>();

  constructor(
    private readonly host: LockServiceHost,
    private readonly bugs: PlantedServiceBugs = {},
  ) {}

  handle(request: ClientRequest): Promise<unknown> {
    switch (request.type) {
      case "acquire":
        return this.acquire(request.key, request.value, request.ttlMs, request.waitMs ?? 0);
      case "refresh":
        return this.refresh(request.key, request.value, request.token, request.ttlMs);
      case "release":
        return this.release(request.key, request.value, request.token ?? 0);
      case "cancel":
        return this.cancel(request.key, request.value);
      case "get":
        return this.get(request.key);
      case "status":
        return Promise.resolve(this.host.status());
    }
  }

  onApplied(entry: Entry, result: LockResult | undefined): void {
    const proposal = this.proposals.get(entry.index);
    if (proposal !== undefined) {
      this.proposals.delete(entry.index);
      if (proposal.term !== entry.term || result === undefined) {
        // Another leader's entry took the index: ours was lost. Its outcome is unknown to the
        // client, which retries (every request is safe to repeat).
        proposal.reject(this.notLeader());
      } else {
        proposal.resolve(result);
      }
    }
    if (result !== undefined) this.settleWaiters(result);
    if (this.reads.size > 0) this.answerReads();
  }

  onReadState(requestId: number, index: number): void {
    const read = this.reads.get(requestId);
    if (read === undefined) return;
    read.index = index;
    this.answerReads();
  }

  onReadDropped(requestId: number): void {
    const read = this.reads.get(requestId);
    if (read === undefined) return;
    this.reads.delete(requestId);
    read.reject(this.notLeader());
  }

  onLeadershipLost(): void {
    const error = this.notLeader();
    const waiting: Waiting<never>[] = [
      ...this.proposals.values(),
      ...this.waiters.values(),
      ...this.reads.values(),
    ];
    this.proposals.clear();
    this.waiters.clear();
    this.reads.clear();
    for (const pending of waiting) pending.reject(error);
  }

  private async acquire(
    key: string,
    value: string,
    ttlMs: number,
    waitMs: number,
  ): Promise<AcquireResult> {
    const requestId = this.host.uniqueNumber();
    const result = await this.propose({
      type: "acquire",
      key,
      value,
      ttlMs,
      waitMs,
      lockDelayMs: 0,
      requestId,
    });
    switch (result.type) {
      case "granted":
        return { fencingToken: result.token, ttlMs: result.ttlMs, waitedMs: 0 };
      case "busy":
        this.answerWaiter(key, value, null);
        throw new LockBusyError(key);
      case "queued": {
        // A retried acquire of a queued value renews its place; the newest request gets the grant.
        this.answerWaiter(key, value, null);
        return new Promise<AcquireResult>((resolve, reject) => {
          this.waiters.set(waiterKey(key, value), { resolve, reject });
        });
      }
      case "rejected":
        throw rejection(result);
      default:
        throw new InternalError(`acquire applied as ${result.type}`);
    }
  }

  private async refresh(
    key: string,
    value: string,
    token: number,
    ttlMs: number,
  ): Promise<RefreshResult> {
    const result = await this.propose({ type: "refresh", key, value, token, ttlMs });
    if (result.type === "refreshed") return { ttlMs: result.ttlMs };
    if (result.type === "rejected") throw rejection(result);
    throw new InternalError(`refresh applied as ${result.type}`);
  }

  private async release(key: string, value: string, token: number): Promise<ReleaseResult> {
    const result = await this.propose({ type: "release", key, value, token });
    if (result.type === "released") return { released: true };
    if (result.type === "notHeld") return { released: false };
    if (result.type === "rejected") throw rejection(result);
    throw new InternalError(`release applied as ${result.type}`);
  }

  private async cancel(key: string, value: string): Promise<CancelResult> {
    const result = await this.propose({ type: "cancelWait", key, value });
    if (result.type === "waiterRemoved") return { cancelled: true };
    if (result.type === "notQueued") return { cancelled: false };
    if (result.type === "rejected") throw rejection(result);
    throw new InternalError(`cancel applied as ${result.type}`);
  }

  private get(key: string): Promise<GetResult> {
    const host = this.host;
    if (!host.isLeader()) return Promise.reject(this.notLeader());
    if (this.bugs.readWithoutReadIndex) return Promise.resolve(this.read(key));
    const requestId = host.uniqueNumber();
    return new Promise<GetResult>((resolve, reject) => {
      this.reads.set(requestId, { key, index: -1, resolve, reject });
      const refused = host.readIndex(requestId);
      if (refused !== undefined) {
        this.reads.delete(requestId);
        reject(this.notLeader());
      }
    });
  }

  private read(key: string): GetResult {
    const info = this.host.table().get(key);
    if (!info.held) {
      return {
        held: false,
        value: null,
        fencingToken: null,
        ttlRemainingMs: null,
        waiters: info.waiters,
      };
    }
    const remainingMs = this.host.leases().remainingMs(key, this.host.nowMs());
    return {
      held: true,
      value: info.value,
      fencingToken: info.fencingToken,
      ttlRemainingMs: Math.floor(remainingMs ?? info.ttlMs),
      waiters: info.waiters,
    };
  }

  private answerReads(): void {
    const applied = this.host.appliedIndex();
    for (const [requestId, read] of this.reads) {
      if (read.index < 0 || read.index > applied) continue;
      this.reads.delete(requestId);
      read.resolve(this.read(read.key));
    }
  }

  private propose(command: LockCommand): Promise<LockResult> {
    const host = this.host;
    if (!host.isLeader()) return Promise.reject(this.notLeader());
    const invalid = host.table().validate(command);
    if (invalid !== null) {
      return Promise.reject(
        invalid.code === "INVALID_ARGUMENT"
          ? new InvalidArgumentError(invalid.field ?? "request", invalid.message)
          : new InternalError(invalid.message),
      );
    }
    const proposed = host.propose(encodeCommand(command));
    if ("error" in proposed) {
      return Promise.reject(
        proposed.error === "NOT_LEADER" || proposed.error === "DOWN"
          ? this.notLeader()
          : new ClusterUnavailableError(`proposal refused: ${proposed.error}`),
      );
    }
    return new Promise<LockResult>((resolve, reject) => {
      this.proposals.set(proposed.index, { term: proposed.term, resolve, reject });
    });
  }

  /** Answers the queued acquire a result grants or ends. */
  private settleWaiters(result: LockResult): void {
    if (this.waiters.size === 0) return;
    switch (result.type) {
      case "released":
      case "expired":
      case "delayCleared":
        if (result.next !== null) this.answerWaiter(result.key, result.next.value, result.next);
        return;
      case "waiterRemoved":
        this.answerWaiter(result.key, result.value, null);
        return;
      default:
        return;
    }
  }

  private answerWaiter(key: string, value: string, grant: WaiterGrant | null): void {
    const id = waiterKey(key, value);
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    this.waiters.delete(id);
    if (grant === null) waiter.reject(new LockBusyError(key));
    else waiter.resolve({ fencingToken: grant.token, ttlMs: grant.ttlMs, waitedMs: 0 });
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(this.host.leaderHint());
  }
}

function waiterKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

function rejection(result: RejectedResult): Error {
  switch (result.code) {
    case "NOT_OWNER":
      return new NotOwnerError(result.message);
    case "INVALID_ARGUMENT":
      return new InvalidArgumentError(result.field ?? "request", result.message);
    case "WAITERS_FULL":
    case "LOCKS_FULL":
      return new OverloadedError(result.message);
    default:
      return new InternalError(result.message);
  }
}
