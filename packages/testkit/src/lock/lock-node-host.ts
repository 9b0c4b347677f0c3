import type {
  ClientResponse,
  HelloFrame,
  LeaderHint,
  MemberRole,
  StatusResult,
} from "@dlock/protocol";
import {
  DlockError,
  PROTOCOL_VERSION,
  checkHello,
  errorToWire,
  parseClientRequest,
  peekRequestId,
} from "@dlock/protocol";
import type { Entry, Role } from "@dlock/raft";
import type { LeaseCommand, LockLimits, LockResult, PlantedLockBugs } from "@dlock/server/lock";
import { LeaseManager, LockStateMachine, decodeCommand, encodeCommand } from "@dlock/server/lock";
import { Hasher } from "../hash.js";
import type { SimNode, SimNodeStatus } from "../sim-node.js";
import type { SimStateMachine } from "../state-machine.js";
import type { AsyncWorld } from "./async-world.js";
import type {
  ServerConnectionHandler,
  ServerEndpoint,
  ServerSideConnection,
  SimClientNetwork,
} from "./client-network.js";
import type { ProcessStatus, SimProcess } from "./sim-process.js";
import { SimProcessClock } from "./sim-process.js";
import type { LockRequestService, PlantedServiceBugs } from "./sim-lock-service.js";
import { SimLockService } from "./sim-lock-service.js";

/** The cluster id every simulated node announces. */
export const SIM_CLUSTER_ID = "sim";

/** The client port of a simulated node. */
export function clientAddressOf(nodeId: string): string {
  return `${nodeId}:7001`;
}

/** What a node host reports to the lock world (history, checkers, event counters). */
export interface LockNodeObserver {
  applied(host: LockNodeHost, entry: Entry, result: LockResult | undefined): void;
  leaderElected(host: LockNodeHost, term: number): void;
  crashed(host: LockNodeHost, unsyncedWrites: number): void;
  leaseCommandsProposed(host: LockNodeHost, commands: readonly LeaseCommand[]): void;
  /** The request path failed with something other than a typed error: a bug. */
  internalError(host: LockNodeHost, error: unknown): void;
}

export interface LockNodeHostOptions {
  world: AsyncWorld;
  clientNetwork: SimClientNetwork;
  limits: LockLimits;
  lockBugs: PlantedLockBugs;
  serviceBugs: PlantedServiceBugs;
  /** The lease manager reads the wall clock (a planted misuse). */
  leasesUseWallClock: boolean;
  /** Reading of the node's monotonic clock at true time 0. */
  clockOriginMs: number;
  uniqueNumber: () => number;
  observer: LockNodeObserver;
}

/**
 * The lock server on one simulated node, as the real server drives the pure lock code (see the
 * header of @dlock/server/lock): the replicated LockStateMachine is the node's SimStateMachine
 * (rebuilt on restart from the durable snapshot plus the durable log, so what was fsynced
 * survives a crash and nothing else does), the LeaseManager runs while the node leads, on the
 * node's own monotonic clock, and the request path answers clients on the node's client port.
 */
export class LockNodeHost implements SimProcess {
  readonly name: string;
  readonly clock: SimProcessClock;
  status: ProcessStatus = "down";
  incarnation = 0;
  private deferred: (() => void)[] = [];
  private machine: LockTableMachine | null = null;
  private leases: LeaseManager | null = null;
  private service: LockRequestService | null = null;
  private leaseTimer: { handle: unknown; dueMs: number } | null = null;
  private leading = false;

  constructor(
    readonly node: SimNode,
    private readonly options: LockNodeHostOptions,
  ) {
    this.name = node.id;
    this.clock = new SimProcessClock(options.world, this, node.clockRate, options.clockOriginMs);
    const endpoint: ServerEndpoint = {
      process: this,
      accept: (connection) => this.accept(connection),
    };
    options.clientNetwork.listen(clientAddressOf(node.id), endpoint);
  }

  get table(): LockStateMachine | null {
    return this.machine?.table ?? null;
  }

  defer(work: () => void): void {
    this.deferred.push(work);
  }

  /** SimNode.start() asks for its state machine: a new process incarnation begins. */
  createStateMachine(): SimStateMachine {
    this.incarnation++;
    this.leading = false;
    this.leaseTimer = null;
    this.deferred = [];
    const machine = new LockTableMachine(
      new LockStateMachine({ limits: this.options.limits, plantedBugs: this.options.lockBugs }),
      () => this.onRestored(),
      this.options.limits,
      this.options.lockBugs,
    );
    this.machine = machine;
    this.leases = new LeaseManager({
      plantedBugs: this.options.lockBugs,
      // Lost expiries are retried after a few election timeouts, not the production second.
      expireRetryMs: 5 * this.options.limits.electionTimeoutMs,
    });
    this.service = new SimLockService(this.serviceHost(), this.options.serviceBugs);
    return machine;
  }

  onStatusChanged(status: SimNodeStatus): void {
    const previous = this.status;
    this.status = status === "running" ? "running" : status === "paused" ? "paused" : "down";
    if (this.status === "down" && previous !== "down") {
      this.incarnation++;
      this.leading = false;
      this.machine = null;
      this.leases = null;
      this.service = null;
      this.leaseTimer = null;
      this.deferred = [];
      this.options.clientNetwork.serverDown(this.name);
      if (status === "crashed") {
        this.options.observer.crashed(this, this.node.storage.unsyncedWrites);
      }
      return;
    }
    if (this.status === "running" && previous === "paused") {
      const work = this.deferred;
      this.deferred = [];
      for (const run of work) {
        if (this.status !== "running") {
          this.deferred.push(run);
          continue;
        }
        run();
      }
    }
  }

  onRoleChanged(role: Role, term: number): void {
    const leases = this.leases;
    const machine = this.machine;
    if (leases === null || machine === null) return;
    this.options.world.touch();
    if (role === "leader") {
      this.leading = true;
      leases.becomeLeader(this.leaseNowMs(), machine.table);
      this.options.observer.leaderElected(this, term);
    } else if (this.leading) {
      this.leading = false;
      leases.becomeFollower();
      this.service?.onLeadershipLost();
    }
    this.rearmLeaseTimer();
  }

  onApplied(entry: Entry): void {
    const machine = this.machine;
    if (machine === null) return;
    const result = entry.kind === "normal" ? machine.takeResult() : undefined;
    if (result !== undefined) this.leases?.onApplied(result, this.leaseNowMs());
    this.options.observer.applied(this, entry, result);
    this.options.world.touch();
    this.service?.onApplied(entry, result);
    this.rearmLeaseTimer();
  }

  onReadState(requestId: number, index: number): void {
    this.options.world.touch();
    this.service?.onReadState(requestId, index);
  }

  onReadDropped(requestId: number): void {
    this.options.world.touch();
    this.service?.onReadDropped(requestId);
  }

  private onRestored(): void {
    // A snapshot replaced the table: the lease manager re-learns it as after an election.
    const leases = this.leases;
    if (leases === null || this.machine === null) return;
    leases.becomeFollower();
    if (this.leading) leases.becomeLeader(this.leaseNowMs(), this.machine.table);
    this.rearmLeaseTimer();
  }

  private leaseNowMs(): number {
    return this.options.leasesUseWallClock ? this.clock.wallNow() : this.clock.now();
  }

  private rearmLeaseTimer(): void {
    const leases = this.leases;
    const dueMs = leases?.nextDueMs() ?? null;
    if (this.leaseTimer !== null && this.leaseTimer.dueMs === dueMs) return;
    if (this.leaseTimer !== null) this.clock.clearTimeout(this.leaseTimer.handle);
    this.leaseTimer = null;
    if (dueMs === null) return;
    const delayMs = dueMs - this.leaseNowMs();
    const handle = this.clock.setTimeout(() => this.onLeaseTimer(), Math.max(0, delayMs));
    this.leaseTimer = { handle, dueMs };
  }

  private onLeaseTimer(): void {
    this.leaseTimer = null;
    const leases = this.leases;
    if (leases === null || !this.leading) return;
    const due = leases.dueExpiries(this.leaseNowMs());
    if (due.length > 0) this.options.observer.leaseCommandsProposed(this, due);
    for (const command of due) {
      const proposed = this.node.propose(encodeCommand(command));
      if ("error" in proposed) leases.proposalFailed(command);
    }
    this.rearmLeaseTimer();
  }

  private serviceHost() {
    const node = this.node;
    return {
      nodeId: this.name,
      isLeader: () => node.status === "running" && node.role === "leader" && this.leading,
      leaderHint: (): LeaderHint | null => {
        const leader = node.leaderHint;
        if (leader === null || leader === node.id) return null;
        return { id: leader, clientAddress: clientAddressOf(leader) };
      },
      propose: (data: Uint8Array) => node.propose(data),
      readIndex: (requestId: number) => node.readIndex(requestId),
      appliedIndex: () => node.applied,
      table: () => this.machine!.table,
      leases: () => this.leases!,
      nowMs: () => this.leaseNowMs(),
      status: (): StatusResult => ({
        leader: node.role === "leader" ? node.id : node.leaderHint,
        term: node.term,
        members: [
          {
            id: node.id,
            role: node.role as MemberRole,
            term: node.term,
            commitIndex: node.raftNode?.status().commit ?? 0,
            appliedIndex: node.applied,
            healthy: true,
            clientAddress: clientAddressOf(node.id),
          },
        ],
      }),
      uniqueNumber: this.options.uniqueNumber,
    };
  }

  /** A client connection reached this node's client port. */
  private accept(connection: ServerSideConnection): ServerConnectionHandler {
    const incarnation = this.incarnation;
    let open = false;
    const answer = (response: ClientResponse): void => {
      if (open && this.incarnation === incarnation) connection.send(response);
    };
    return {
      onHello: (hello: HelloFrame) => {
        const mismatch = checkHello(hello, {
          role: "client",
          clusterId: SIM_CLUSTER_ID,
          allowAnyClusterId: true,
        });
        if (mismatch !== null) {
          connection.send({ type: "error", id: null, error: mismatch.toWire() });
          connection.close();
          return;
        }
        open = true;
        connection.send({
          type: "hello",
          protocolVersion: PROTOCOL_VERSION,
          clusterId: SIM_CLUSTER_ID,
          role: "client",
          nodeId: this.name,
        });
      },
      onRequest: (body: unknown) => {
        if (!open) return;
        let request;
        try {
          request = parseClientRequest(body);
        } catch (error) {
          const id = peekRequestId(body);
          answer({ type: "error", id, error: errorToWire(error) });
          if (id === null) {
            open = false;
            connection.close();
          }
          return;
        }
        const service = this.service;
        if (service === null || this.incarnation !== incarnation) return;
        const id = request.id;
        service.handle(request).then(
          (result) => answer({ type: "ok", id, result }),
          (error: unknown) => {
            if (!(error instanceof DlockError)) this.options.observer.internalError(this, error);
            answer({ type: "error", id, error: errorToWire(error) });
          },
        );
      },
      onClose: () => {
        open = false;
      },
    };
  }
}

/**
 * The lock table as the node's replicated state machine. The table is rebuilt on every restart
 * from the durable snapshot and the durable log (SimNode does that), which is what survives a
 * crash of the real server too (the table is written in the same batch as the log).
 */
class LockTableMachine implements SimStateMachine {
  private result: LockResult | undefined;

  constructor(
    public table: LockStateMachine,
    private readonly onRestored: () => void,
    private readonly limits: LockLimits,
    private readonly bugs: PlantedLockBugs,
  ) {}

  apply(entry: Entry): void {
    this.result = this.table.applyEntry(entry.index, entry.data);
  }

  /** The result of the entry applied last (once). */
  takeResult(): LockResult | undefined {
    const result = this.result;
    this.result = undefined;
    return result;
  }

  snapshot(): Uint8Array {
    return this.table.snapshot();
  }

  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.table = new LockStateMachine({ limits: this.limits, plantedBugs: this.bugs });
    } else {
      this.table.restoreSnapshot(data);
    }
    this.onRestored();
  }

  digest(): number {
    return new Hasher(0x10c).bytes(this.table.snapshot()).digest();
  }
}

/** Decodes a committed entry's lock command for the history (null if it is not one). */
export function commandOf(entry: Entry) {
  try {
    return decodeCommand(entry.data);
  } catch {
    return null;
  }
}
