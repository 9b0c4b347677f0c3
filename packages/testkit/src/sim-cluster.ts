import type { ConfState, Message, RaftConfig, Role, Storage } from "@dlock/raft";
import { RawNode } from "@dlock/raft";
import { SafetyMonitor } from "./checkers/safety-monitor.js";
import type { NetworkFaults } from "./network.js";
import type { Prng } from "./prng.js";
import { SimNetwork } from "./network.js";
import type {
  ClusterNode,
  RaftNodeFactory,
  SimNodeDeps,
  SimNodeEvents,
  SimNodeOptions,
} from "./cluster-node.js";
import type { SimStateMachineFactory } from "./state-machine.js";
import { HashChainStateMachine } from "./state-machine.js";
import { SimWorld } from "./world.js";

export interface SimClusterOptions {
  seed: number;
  /** Initial voters n1..nN. */
  nodeCount: number;
  /** Options shared by every node (ids and clock rates are assigned here). */
  node: Omit<SimNodeOptions, "id" | "clockRate">;
  /** Each node's clock runs at a rate drawn uniformly from [1 − drift, 1 + drift]. */
  clockDriftMax: number;
  network: NetworkFaults;
  createRaftNode?: RaftNodeFactory;
  createStateMachine?: SimStateMachineFactory;
  /** A joining node's initial membership: the bootstrap voters (default) or empty. */
  joinerBootstrap?: "initial" | "empty";
  /**
   * Builds each node: a process running the production RaftHost (hosted-raft-cluster.ts for the
   * Raft-level simulator, the lock world's LockNodeHost for the lock simulator).
   */
  createNode: (options: SimNodeOptions, bootstrap: ConfState, deps: SimNodeDeps) => ClusterNode;
  /** Extra observers (issue 4's lock world hooks in here). */
  events?: SimNodeEvents;
  /**
   * Draws a node's clock rate (default: uniform in [1 − clockDriftMax, 1 + clockDriftMax]). The
   * lock simulator favours the extremes of its drift bound, where client validity is tightest.
   */
  clockRateOf?: (nodeId: string, random: Prng) => number;
}

export const defaultRaftNodeFactory: RaftNodeFactory = (config: RaftConfig, storage: Storage) =>
  new RawNode(config, storage);

/**
 * A simulated Raft cluster: the world, the network, the nodes and the safety monitor wired
 * together. Faults and load are applied from outside (see run-schedule.ts); membership is tracked
 * here: a node removed by a committed configuration is stopped for good.
 */
export class SimCluster {
  readonly world: SimWorld;
  readonly network: SimNetwork<Message>;
  readonly monitor: SafetyMonitor;
  readonly nodes = new Map<string, ClusterNode>();
  readonly bootstrap: ConfState;
  /** Called when a node gains or loses leadership (fault injection reacts to elections). */
  readonly leadershipListeners: ((node: ClusterNode, role: Role, term: number) => void)[] = [];
  private readonly options: SimClusterOptions;
  private readonly everMember = new Set<string>();
  private readonly events: SimNodeEvents;
  private nextNodeNumber: number;

  constructor(options: SimClusterOptions) {
    this.options = options;
    this.world = new SimWorld(options.seed);
    this.network = new SimNetwork<Message>(this.world, this.world.random.fork(), options.network);
    const voters = Array.from({ length: options.nodeCount }, (_, i) => `n${i + 1}`);
    this.bootstrap = { voters, learners: [] };
    this.monitor = new SafetyMonitor(this.bootstrap);
    const nodes = this.nodes;
    this.monitor.attach({
      leaders: () => {
        const leaders = [];
        for (const node of nodes.values()) {
          if (node.isUp && node.role === "leader") {
            leaders.push({ node: node.id, term: node.term, log: node.memoryLog });
          }
        }
        return leaders;
      },
      durableLog: (id) => nodes.get(id)?.durableLog,
    });
    const extra = options.events ?? {};
    this.events = {
      roleChanged: (node, role, term) => {
        for (const listener of this.leadershipListeners) listener(node, role, term);
        extra.roleChanged?.(node, role, term);
      },
      applied: (node, entry) => extra.applied?.(node, entry),
      configCommitted: (node) => {
        this.reapRemovedMembers();
        extra.configCommitted?.(node);
      },
      softStateChanged: (node, role, leader, term) =>
        extra.softStateChanged?.(node, role, leader, term),
      statusChanged: (node, status) => extra.statusChanged?.(node, status),
    };
    for (const id of voters) {
      this.everMember.add(id);
      this.createNode(id, this.bootstrap);
    }
    this.nextNodeNumber = options.nodeCount + 1;
  }

  /** Start every node. */
  start(): void {
    for (const node of this.nodes.values()) node.start();
  }

  node(id: string): ClusterNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** The up node that believes it leads in the highest term, if any. */
  leader(): ClusterNode | undefined {
    let best: ClusterNode | undefined;
    for (const node of this.nodes.values()) {
      if (node.status === "running" && node.role === "leader") {
        if (best === undefined || node.term > best.term) best = node;
      }
    }
    return best;
  }

  /** Nodes not removed from the cluster (running, paused or crashed). */
  members(): ClusterNode[] {
    return [...this.nodes.values()].filter((node) => node.status !== "stopped");
  }

  /**
   * Create and start a fresh node that will join. Its disk starts with the cluster's initial
   * membership, like a server started with the same --cluster list: the bootstrap voters are not
   * log entries, so a joiner replaying the log from index 1 could not learn them otherwise.
   */
  addNode(): ClusterNode {
    const id = `n${this.nextNodeNumber++}`;
    const bootstrap =
      this.options.joinerBootstrap === "empty" ? { voters: [], learners: [] } : this.bootstrap;
    const node = this.createNode(id, bootstrap);
    node.start();
    return node;
  }

  private createNode(id: string, bootstrap: ConfState): ClusterNode {
    const options = this.options;
    const random = this.world.random.fork();
    const clockRate =
      options.clockRateOf !== undefined
        ? options.clockRateOf(id, random)
        : 1 + random.between(-options.clockDriftMax, options.clockDriftMax);
    const deps: SimNodeDeps = {
      world: this.world,
      network: this.network,
      monitor: this.monitor,
      random,
      createRaftNode: options.createRaftNode ?? defaultRaftNodeFactory,
      createStateMachine: options.createStateMachine ?? (() => new HashChainStateMachine()),
      events: this.events,
    };
    const nodeOptions = { ...options.node, id, clockRate };
    const node = options.createNode(nodeOptions, bootstrap, deps);
    this.nodes.set(id, node);
    return node;
  }

  /** Stop nodes that were members and are not in the committed membership any more. */
  private reapRemovedMembers(): void {
    const conf = this.monitor.ledger.committedConf();
    const inConf = new Set([...conf.voters, ...conf.learners]);
    for (const id of inConf) this.everMember.add(id);
    for (const id of this.everMember) {
      if (!inConf.has(id)) {
        const node = this.nodes.get(id);
        // Let it hear the outcome before it goes (it would be shut down by its operator).
        if (node) this.world.after(1, () => node.stop());
      }
    }
  }
}
