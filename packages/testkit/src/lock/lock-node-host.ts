import type { ClientResponse, HelloFrame, StatusResult } from "@dlock/protocol";
import {
  DlockError,
  PROTOCOL_VERSION,
  checkHello,
  errorToWire,
  parseClientRequest,
  peekRequestId,
} from "@dlock/protocol";
import type { ConfState, Entry, NodeId, Role } from "@dlock/raft";
import type {
  LockServiceHost,
  LockServicePlantedBugs,
  PlantedLockBugs,
  ServiceTimers,
  StateMachine,
} from "@dlock/server/internal";
import {
  LockService,
  RaftHost,
  lockStateMachineAdapter,
  withPlantedLockBugs,
  withPlantedServiceBugs,
} from "@dlock/server/internal";
import type { LockLimits, LockResult } from "@dlock/server/lock";
import { LeaseManager, LockStateMachine, decodeCommand } from "@dlock/server/lock";
import { lockTableDigest } from "./table-digest.js";
import type { SimNodeStatus } from "../cluster-node.js";
import type { AsyncWorld } from "./async-world.js";
import type {
  ServerConnectionHandler,
  ServerEndpoint,
  ServerSideConnection,
  SimClientNetwork,
} from "./client-network.js";
import { SimProcessBase, SimProcessClock } from "./sim-process.js";
import type { HostedSimNode } from "./hosted-sim-node.js";

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
  /** The request path failed with something other than a typed error: a bug. */
  internalError(host: LockNodeHost, error: unknown): void;
}

export interface LockNodeHostOptions {
  world: AsyncWorld;
  clientNetwork: SimClientNetwork;
  limits: LockLimits;
  lockBugs: PlantedLockBugs;
  serviceBugs: LockServicePlantedBugs;
  /** The lease manager reads the wall clock (a planted misuse). */
  leasesUseWallClock: boolean;
  /** Reading of the node's monotonic clock at true time 0. */
  clockOriginMs: number;
  /** A read id no other read in the cluster uses. */
  readId: () => number;
  observer: LockNodeObserver;
}

/**
 * The lock server on one simulated node, wired as DlockServer wires it: every incarnation of
 * the process (see startHost) runs RaftHost, the class DlockServer runs, over the node's SimDisk
 * (the lock table is loaded from what was fsynced, so nothing else survives a crash), the
 * simulated peer network and a HostScheduler on the node's clock; the server's own LockService
 * (request path, queued waiters, the leader's LeaseManager and its expiry timers) runs on that
 * RaftHost with the node's monotonic clock and timers. Clients reach it on the node's client port
 * over the simulated client network.
 */
export class LockNodeHost extends SimProcessBase {
  readonly name: string;
  readonly clock: SimProcessClock;
  /** The table of the running incarnation. */
  private lockTable: LockStateMachine | null = null;
  /** The running incarnation's RaftHost (null while down or starting). */
  raftHost: RaftHost<LockResult> | null = null;
  private service: LockService | null = null;
  private connectionNumber = 0;
  /** The node's last soft state said it leads (for the leader-change event count). */
  private leading = false;

  constructor(
    readonly node: HostedSimNode,
    private readonly options: LockNodeHostOptions,
  ) {
    super();
    this.name = node.id;
    this.clock = new SimProcessClock(options.world, this, node.clockRate, options.clockOriginMs);
    const endpoint: ServerEndpoint = {
      process: this,
      accept: (connection) => this.accept(connection),
    };
    options.clientNetwork.listen(clientAddressOf(node.id), endpoint);
  }

  get table(): LockStateMachine | null {
    return this.lockTable;
  }

  /** The lease manager's clock: the monotonic one, or the wall clock when that misuse is planted. */
  private readonly leaseNowMs = (): number =>
    this.options.leasesUseWallClock ? this.clock.wallNow() : this.clock.now();

  /** The server's LockService on `host`, with this node's clock and timers. */
  private lockService(host: LockServiceHost, table: LockStateMachine): LockService {
    const options = this.options;
    const timers: ServiceTimers = {
      set: (callback, delayMs) => this.clock.setTimeout(callback, delayMs),
      clear: (handle) => this.clock.clearTimeout(handle),
    };
    return new LockService(
      withPlantedServiceBugs(
        {
          host,
          table,
          leases: new LeaseManager(
            withPlantedLockBugs(
              // A lost expiry is retried after a few election timeouts, not the production second.
              { expireRetryMs: 5 * options.limits.electionTimeoutMs },
              options.lockBugs,
            ),
          ),
          nowMs: this.leaseNowMs,
          timers,
          clientAddressOf: (id: NodeId) => clientAddressOf(id),
          status: () => this.statusResult(),
        },
        options.serviceBugs,
      ),
    );
  }

  /** The node (re)started: a new process incarnation starts its RaftHost and LockService. */
  startHost(node: HostedSimNode): void {
    const incarnation = this.beginIncarnation();
    this.leading = false;
    const options = this.options;
    const world = options.world;
    const table = new LockStateMachine(
      withPlantedLockBugs({ limits: options.limits }, options.lockBugs),
    );
    this.lockTable = table;
    const digest = (): number => lockTableDigest(table);
    const adapter = lockStateMachineAdapter(table);
    const stateMachine: StateMachine<LockResult> = {
      apply: (entries) => adapter.apply(entries),
      appliedIndex: () => adapter.appliedIndex(),
      takeChanges: () => adapter.takeChanges(),
      load: (appliedIndex, records) => adapter.load(appliedIndex, records),
      restore: (appliedIndex, records) => {
        adapter.restore(appliedIndex, records);
        node.hostRestored(appliedIndex, node.storedConf(), digest(), true);
      },
    };
    world.touch();
    RaftHost.start<LockResult>(node.hostOptions(world, this, this.clock, stateMachine)).then(
      (host) => {
        if (incarnation !== this.incarnation) return;
        this.started(node, host, table, digest, node.storedConf());
      },
      (error: unknown) => options.observer.internalError(this, error),
    );
  }

  private started(
    node: HostedSimNode,
    host: RaftHost<LockResult>,
    table: LockStateMachine,
    digest: () => number,
    conf: ConfState,
  ): void {
    const options = this.options;
    this.raftHost = host;
    node.hostRestored(table.appliedIndex, conf, digest(), false);
    host.onApply((entries, results) => {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!; // i < length; runs per applied entry, so no entries() iterator
        if (entry.kind === "normal") options.observer.applied(this, entry, results[i]);
      }
      node.hostApplied(entries, digest());
    });
    this.service = this.lockService(host, table);
  }

  onStatusChanged(status: SimNodeStatus): void {
    const previous = this.status;
    this.status = status === "running" ? "running" : status === "paused" ? "paused" : "down";
    if (this.status === "down" && previous !== "down") {
      this.endIncarnation();
      this.leading = false;
      this.lockTable = null;
      this.raftHost = null;
      this.service = null;
      this.options.clientNetwork.serverDown(this.name);
      if (status === "crashed") {
        this.options.observer.crashed(this, this.node.storage.unsyncedWrites);
      }
      return;
    }
    if (this.status === "running" && previous === "paused") {
      this.held.runWhile(() => this.status === "running");
    }
  }

  onSoftState(role: Role, term: number): void {
    if (this.raftHost === null) return;
    const wasLeader = this.leading;
    this.leading = role === "leader";
    if (this.leading && !wasLeader) this.options.observer.leaderElected(this, term);
  }

  /** This node's own view, as `status` answers it (other members' figures are not known here). */
  private statusResult(): StatusResult {
    const node = this.node;
    const raft = node.raftNode;
    const status = raft?.status();
    const role = node.role === "preCandidate" ? "candidate" : node.role;
    return {
      leader: node.role === "leader" ? node.id : node.leaderHint,
      term: node.term,
      members: [
        {
          id: node.id,
          role,
          term: node.term,
          commitIndex: status?.commit ?? 0,
          appliedIndex: node.applied,
          healthy: true,
          clientAddress: clientAddressOf(node.id),
        },
      ],
    };
  }

  /** A client connection reached this node's client port. */
  private accept(connection: ServerSideConnection): ServerConnectionHandler {
    const incarnation = this.incarnation;
    const connectionId = ++this.connectionNumber;
    let clientId = "";
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
        clientId = hello.clientId ?? "";
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
        const context = { connectionId, clientId, principal: null, receivedAtMs: this.clock.now() };
        service.handle(request, context).then(
          (result) => answer({ type: "ok", id, result }),
          (error: unknown) => {
            if (!(error instanceof DlockError)) this.options.observer.internalError(this, error);
            answer({ type: "error", id, error: errorToWire(error) });
          },
        );
      },
      onClose: () => {
        const wasOpen = open;
        open = false;
        if (wasOpen && this.incarnation === incarnation) {
          this.service?.connectionClosed(connectionId);
        }
      },
    };
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
