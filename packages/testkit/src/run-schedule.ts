import { withPlantedBugs } from "@dlock/raft/internal";
import { SafetyViolation } from "./checkers/violation.js";
import type { NetworkStats } from "./network.js";
import type { FaultKind, FaultStep, FaultTarget, PartitionShape, SchedulePlan } from "./plan.js";
import {
  CRASH_AIM_UNSYNCED_BATCHES,
  CRASH_AIM_WAIT_MS_MAX,
  livenessBoundMs,
  MEMBERSHIP_VOTERS_MAX,
  MEMBERSHIP_VOTERS_MIN,
} from "./plan.js";
import type { Prng } from "./prng.js";
import type { SimClusterOptions } from "./sim-cluster.js";
import type { SimCluster } from "./sim-cluster.js";
import type { ClusterNode } from "./cluster-node.js";
import { hostedRaftCluster } from "./hosted-raft-cluster.js";
import type { AsyncWorld } from "./lock/async-world.js";

/** How often the liveness phase looks for a leader and its committed entry, in virtual ms. */
const LIVENESS_POLL_MS = 5;
/** Share of client operations that are ReadIndex reads rather than proposals. */
const READ_SHARE = 0.25;
/** A "nextLeader" fault fires within this many round trips of the election. */
const NEXT_LEADER_FAULT_ROUND_TRIPS_MAX = 4;

/** The faults that take a node out for a while: when they apply, how they begin and end. */
const INTERRUPTIONS = {
  crash: {
    applies: (node: ClusterNode) => node.isUp,
    begin: (node: ClusterNode) => node.crash(),
    end: (node: ClusterNode) => node.restart(),
  },
  pause: {
    applies: (node: ClusterNode) => node.status === "running",
    begin: (node: ClusterNode) => node.pause(),
    end: (node: ClusterNode) => node.resume(),
  },
} as const;

export interface ScheduleResult {
  plan: SchedulePlan;
  violation: SafetyViolation | null;
  /** Hash of everything that happened: equal plans must give equal hashes. */
  traceHash: number;
  virtualMs: number;
  events: number;
  /** Faults injected, by kind (membership and transfer count only when actually proposed). */
  faults: Record<FaultKind, number>;
  elections: number;
  committedIndex: number;
  proposals: { accepted: number; refused: number };
  /** ReadIndex reads started, and answered by the core. */
  reads: { started: number; served: number };
  network: NetworkStats;
  crashes: number;
  /** Crashes that lost unsynced writes; crashes that left a torn batch of entries. */
  crashesLosingWrites: number;
  tornWrites: number;
  snapshotsInstalled: number;
  compactions: number;
  /** Virtual time from the end of the fault phase to the commit of the liveness entry. */
  recoveryMs: number | null;
}

/**
 * Runs one schedule: a fault phase driven by the plan with client load, then a liveness phase
 * (every partition healed, every node restarted or resumed, the network calm) that must elect a
 * leader and commit a new entry within livenessBoundMs(plan). Every node runs the production
 * RaftHost (hosted-raft-cluster.ts). Checkers run on every step; the first violation ends the run.
 */
export async function runSchedule(plan: SchedulePlan): Promise<ScheduleResult> {
  const hosted = hostedRaftCluster(clusterOptionsOf(plan));
  const { cluster, world } = hosted;
  const driver = new ScheduleDriver(cluster, plan, () => hosted.violation() !== null);
  let violation: SafetyViolation | null = null;
  let recoveryMs: number | null = null;
  // Per event only the monitor (cheap); a failed host also shows at every liveness poll.
  const failed = (): boolean => cluster.monitor.violation !== null;
  try {
    cluster.start();
    driver.scheduleFaults();
    driver.startLoad();
    await world.runUntil(plan.faultPhaseMs, failed);
    if (!failed()) recoveryMs = await driver.livenessPhase(world, failed);
  } catch (error) {
    violation =
      error instanceof SafetyViolation
        ? error
        : new SafetyViolation("coreContract", `exception: ${describe(error)}`, { cause: error });
  }
  // What a host caught in its Ready loop came first (anything after it may be its consequence).
  const found = hosted.violation();
  if (found !== null) {
    recoveryMs = null;
    violation = found;
  }
  if (violation !== null) violation.timeMs ??= world.nowMs;
  const simWorld = cluster.world;
  return {
    plan,
    violation,
    traceHash: simWorld.trace.int(simWorld.eventCount).int(world.immediatesRun).digest(),
    virtualMs: simWorld.nowMs,
    events: simWorld.eventCount + world.immediatesRun,
    faults: driver.faultCounts,
    elections: cluster.monitor.electionSafety.elections,
    committedIndex: cluster.monitor.ledger.maxIndex,
    proposals: driver.proposals,
    reads: { started: driver.reads, served: cluster.monitor.readIndex.readsServed },
    network: { ...cluster.network.stats },
    ...nodeCountersOf(cluster),
    recoveryMs,
  };
}

/** What happened to the nodes' processes and disks, summed over every node of the cluster. */
export function nodeCountersOf(cluster: SimCluster): {
  crashes: number;
  crashesLosingWrites: number;
  tornWrites: number;
  snapshotsInstalled: number;
  compactions: number;
} {
  const sums = {
    crashes: 0,
    crashesLosingWrites: 0,
    tornWrites: 0,
    snapshotsInstalled: 0,
    compactions: 0,
  };
  for (const node of cluster.nodes.values()) {
    for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += node.counters[key];
  }
  return sums;
}

/** The cluster a plan describes (network, disks, clocks, Raft options). */
export function clusterOptionsOf(plan: SchedulePlan): Omit<SimClusterOptions, "createNode"> {
  return {
    seed: plan.seed,
    nodeCount: plan.nodeCount,
    clockDriftMax: plan.clockDriftPermille / 1000,
    joinerBootstrap: plan.joinerBootstrap ?? "initial",
    network: {
      delayMsMin: plan.delayMsMin,
      delayMsMax: plan.delayMsMax,
      dropRate: plan.dropPermille / 1000,
      duplicateRate: plan.duplicatePermille / 1000,
      reorderRate: plan.reorderPermille / 1000,
      reorderDelayMaxMs: plan.delayMsMax * 5,
    },
    node: {
      raft: withPlantedBugs(
        {
          electionTicks: plan.electionTicks,
          heartbeatTicks: plan.heartbeatTicks,
          preVote: plan.preVote,
          checkQuorum: plan.checkQuorum,
          messageBytesMax: plan.messageBytesMax,
          inflightMessagesMax: plan.inflightMessagesMax,
          snapshotChunkBytes: plan.snapshotChunkBytes,
          uncommittedBytesMax: plan.uncommittedBytesMax,
        },
        plan.plantedBugs,
      ),
      tickMs: plan.tickMs,
      fsyncMinMs: plan.fsyncMsMin,
      fsyncMaxMs: plan.fsyncMsMax,
      tornWriteRate: plan.tornPermille / 1000,
      snapshotEveryEntries: plan.snapshotEveryEntries,
      readiesInFlightMax: plan.readiesInFlightMax,
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Interprets a plan's fault steps against a cluster. The lock simulator (lock/run-lock-schedule.ts)
 * drives the same faults, with its own load and its own liveness phase.
 */
export class ScheduleDriver {
  readonly faultCounts: Record<FaultKind, number> = {
    crash: 0,
    pause: 0,
    partition: 0,
    membership: 0,
    transfer: 0,
  };
  readonly proposals = { accepted: 0, refused: 0 };
  reads = 0;
  private readonly random: Prng;
  /** Decides which crashes are aimed (null: the plan aims none, and draws nothing for it). */
  private readonly aimRandom: Prng | null;
  private faultsOver = false;
  private readonly heals = new Set<() => void>();
  private proposalNumber = 0;
  /** Faults waiting for the next election winner. */
  private armed: ((leader: ClusterNode) => void)[] = [];

  constructor(
    private readonly cluster: SimCluster,
    private readonly plan: SchedulePlan,
    /** True once a node's host failed (the liveness phase stops at its next poll). */
    private readonly hostFailed: () => boolean = () => false,
  ) {
    this.random = cluster.world.random.fork();
    this.aimRandom = (plan.crashAimPermille ?? 0) > 0 ? this.random.fork() : null;
    cluster.leadershipListeners.push((node, role) => {
      if (role !== "leader" || this.armed.length === 0 || this.faultsOver) return;
      const fire = this.armed.shift()!;
      const roundTripMs = 2 * plan.delayMsMax + plan.fsyncMsMax;
      const delayMs = this.random.between(0, NEXT_LEADER_FAULT_ROUND_TRIPS_MAX * roundTripMs);
      cluster.world.after(delayMs, () => {
        if (!this.faultsOver) fire(node);
      });
    });
  }

  scheduleFaults(): void {
    for (const step of this.plan.faults) {
      if (step.atMs >= this.plan.faultPhaseMs) continue;
      this.cluster.world.at(step.atMs, () => {
        if (!this.faultsOver) this.inject(step);
      });
    }
  }

  startLoad(): void {
    const interval = this.plan.proposalIntervalMs;
    if (interval <= 0) return;
    const world = this.cluster.world;
    const next = (): void => {
      // Client load stops with the faults: the liveness phase measures recovery, not a backlog.
      if (this.faultsOver) return;
      this.proposeClientEntry();
      world.after(this.random.between(0, 2 * interval), next);
    };
    world.after(this.random.between(0, 2 * interval), next);
  }

  private proposeClientEntry(): void {
    const leader = this.cluster.leader();
    if (leader === undefined) {
      this.proposals.refused++;
      return;
    }
    if (this.random.chance(READ_SHARE)) {
      this.reads++;
      leader.readIndex(this.reads);
      return;
    }
    const size = this.random.int(1, Math.max(1, this.plan.proposalBytesMax));
    const data = payload(`p${++this.proposalNumber}`, size);
    // Refused proposals (no leader, over the uncommitted limit) are counted, not retried.
    if ("error" in leader.propose(data)) this.proposals.refused++;
    else this.proposals.accepted++;
  }

  private inject(step: FaultStep): void {
    const cluster = this.cluster;
    const world = cluster.world;
    world.trace.string(step.kind).int(step.atMs);
    switch (step.kind) {
      case "crash":
        this.atTarget(step.target, (node) => {
          const aimed = this.aimRandom?.chance((this.plan.crashAimPermille ?? 0) / 1000) ?? false;
          if (aimed) this.crashAimed(node, step.downMs);
          else this.interrupt(node, "crash", step.downMs);
        });
        return;
      case "pause":
        this.atTarget(step.target, (node) => this.interrupt(node, "pause", step.forMs));
        return;
      case "partition": {
        const apply = (leader: ClusterNode | null): void => {
          const heal = this.partition(step.shape, step.forMs, leader);
          if (heal === null) return;
          this.faultCounts.partition++;
          this.heals.add(heal);
          world.after(step.forMs, () => {
            if (this.heals.delete(heal)) heal();
          });
        };
        if (step.shape === "isolateNextLeader") this.armed.push((leader) => apply(leader));
        else if (step.shape === "isolateLeader") {
          const leader = cluster.leader();
          if (leader !== undefined) apply(leader);
        } else apply(null);
        return;
      }
      case "membership":
        if (this.changeMembership()) this.faultCounts.membership++;
        return;
      case "transfer": {
        const leader = cluster.leader();
        const status = leader?.raftNode?.status();
        if (leader === undefined || status === undefined) return;
        const others = status.confState.voters.filter((id) => id !== leader.id);
        if (others.length === 0) return;
        if (leader.transferLeadership(this.random.pick(others)) === undefined) {
          this.faultCounts.transfer++;
        }
        return;
      }
    }
  }

  /** Crashes or pauses `node` if it can be, and restarts or resumes it `forMs` later. */
  private interrupt(node: ClusterNode, kind: keyof typeof INTERRUPTIONS, forMs: number): void {
    const interruption = INTERRUPTIONS[kind];
    if (!interruption.applies(node)) return;
    interruption.begin(node);
    this.faultCounts[kind]++;
    this.cluster.world.after(forMs, () => interruption.end(node));
  }

  /**
   * Crashes `node` once its disk holds CRASH_AIM_UNSYNCED_BATCHES unsynced batches (a crash then
   * may tear between them), or after CRASH_AIM_WAIT_MS_MAX when they do not come.
   */
  private crashAimed(node: ClusterNode, downMs: number): void {
    const world = this.cluster.world;
    let struck = false;
    let cancel = (): void => {};
    const strike = (): void => {
      if (struck) return;
      struck = true;
      cancel();
      if (!this.faultsOver) this.interrupt(node, "crash", downMs);
    };
    const aimed = (): boolean => node.storage.unsyncedWrites >= CRASH_AIM_UNSYNCED_BATCHES;
    const watch = (): void => {
      // The write that brings them is mid-way: the crash comes at the next event, if an fsync
      // (a 0 ms one) has not covered them by then; else it waits for the next ones.
      cancel = node.whenUnsynced(CRASH_AIM_UNSYNCED_BATCHES, () => {
        world.after(0, () => {
          if (aimed()) strike();
          else if (!struck) watch();
        });
      });
    };
    if (aimed()) {
      strike();
      return;
    }
    watch();
    world.after(CRASH_AIM_WAIT_MS_MAX, strike);
  }

  /** Applies `fault` to the step's target now, or arms it for the next leader. */
  private atTarget(target: FaultTarget, fault: (node: ClusterNode) => void): void {
    if (target === "nextLeader") {
      this.armed.push(fault);
      return;
    }
    const node = this.pickTarget(target);
    if (node !== undefined) fault(node);
  }

  private pickTarget(target: FaultTarget): ClusterNode | undefined {
    const up = this.cluster.members().filter((node) => node.isUp);
    if (up.length === 0) return undefined;
    const leader = this.cluster.leader();
    if (target === "leader" && leader !== undefined) return leader;
    if (target === "follower") {
      const followers = up.filter((node) => node !== leader);
      if (followers.length > 0) return this.random.pick(followers);
    }
    return this.random.pick(up);
  }

  /** Cuts links according to `shape`; returns the function that mends exactly those cuts. */
  private partition(
    shape: PartitionShape,
    forMs: number,
    leader: ClusterNode | null,
  ): (() => void) | null {
    const network = this.cluster.network;
    const ids = shuffle(
      this.cluster.members().map((node) => node.id),
      this.random,
    );
    const [first] = ids;
    if (first === undefined) return null;
    // Put the just-elected leader first: "isolate" cuts the head off.
    const head = leader?.id ?? first;
    const position = ids.indexOf(head);
    if (position < 0) return null;
    ids[position] = first;
    ids[0] = head;
    const n = ids.length;
    if (n < 2) return null;
    const cuts: [string, string][] = [];
    const cutBoth = (a: string, b: string): void => {
      cuts.push([a, b], [b, a]);
    };
    switch (shape) {
      case "isolate":
      case "isolateNextLeader":
      case "isolateLeader":
        for (const id of ids.slice(1)) cutBoth(head, id);
        break;
      case "split":
      case "oneWay": {
        const k = this.random.int(1, Math.floor(n / 2));
        for (const a of ids.slice(0, k)) {
          for (const b of ids.slice(k)) {
            if (shape === "split") cutBoth(a, b);
            else cuts.push([a, b]);
          }
        }
        break;
      }
      case "bridge": {
        if (n < 3) return null;
        const half = 1 + Math.floor((n - 1) / 2);
        for (const a of ids.slice(1, half)) for (const b of ids.slice(half)) cutBoth(a, b);
        break;
      }
      case "ring":
        for (const [i, a] of ids.entries()) {
          for (const [j, b] of ids.entries()) {
            const distance = Math.min(j - i, n - (j - i));
            if (j > i && distance > 1) cutBoth(a, b);
          }
        }
        break;
      case "rotate": {
        // One node at a time is isolated; the isolation moves on every forMs / n.
        const world = this.cluster.world;
        const stepMs = forMs / n;
        let current: [string, string][] = [];
        let stopped = false;
        const isolate = (position: number): void => {
          for (const [a, b] of current) network.mend(a, b);
          current = [];
          const isolated = ids[position];
          if (stopped || isolated === undefined) return;
          for (const id of ids) if (id !== isolated) current.push([isolated, id], [id, isolated]);
          for (const [a, b] of current) network.cut(a, b);
          world.after(stepMs, () => isolate(position + 1));
        };
        isolate(0);
        return () => {
          stopped = true;
          for (const [a, b] of current) network.mend(a, b);
          current = [];
        };
      }
    }
    if (cuts.length === 0) return null;
    for (const [a, b] of cuts) network.cut(a, b);
    return () => {
      for (const [a, b] of cuts) network.mend(a, b);
    };
  }

  /** Returns true when a change was proposed. */
  private changeMembership(): boolean {
    const cluster = this.cluster;
    const leader = cluster.leader();
    const status = leader?.raftNode?.status();
    if (leader === undefined || status === undefined) return false;
    const conf = status.confState;
    const [learner] = conf.learners;
    if (learner !== undefined) {
      const progress = status.progress?.[learner];
      if (progress === undefined || progress.match < status.commit) return false;
      return !("error" in leader.proposeConfChange({ type: "promote", nodeId: learner }));
    }
    const voters = conf.voters.length;
    const grow =
      voters < MEMBERSHIP_VOTERS_MAX &&
      (voters <= MEMBERSHIP_VOTERS_MIN || this.random.chance(0.5));
    if (grow) {
      const node = cluster.addNode();
      const result = leader.proposeConfChange({ type: "addLearner", nodeId: node.id });
      if ("error" in result) {
        node.stop();
        return false;
      }
      return true;
    }
    if (voters > MEMBERSHIP_VOTERS_MIN) {
      const victim = this.random.pick(conf.voters);
      return !("error" in leader.proposeConfChange({ type: "remove", nodeId: victim }));
    }
    return false;
  }

  /** Faults stop: heal every partition, calm the network, restart and resume every member. */
  healAll(): void {
    const cluster = this.cluster;
    this.faultsOver = true;
    this.armed = [];
    for (const heal of this.heals) heal();
    this.heals.clear();
    cluster.network.mendAll();
    cluster.network.calm();
    for (const node of cluster.members()) {
      if (node.status === "crashed") node.restart();
      else if (node.status === "paused") node.resume();
    }
  }

  /**
   * Faults stop: heal, restart, resume, calm the network; then require a leader and the commit of
   * a new entry within the bound. Returns the time it took (null: `failed()` stopped the run).
   */
  async livenessPhase(world: AsyncWorld, failed: () => boolean): Promise<number | null> {
    const cluster = this.cluster;
    this.healAll();
    const startMs = world.nowMs;
    let backlogEntries = 0;
    for (const node of cluster.members()) {
      const uncommitted = node.storage.lastIndexOf("memory") - cluster.monitor.ledger.maxIndex;
      backlogEntries = Math.max(backlogEntries, uncommitted);
    }
    const boundMs = livenessBoundMs(this.plan, backlogEntries);
    const deadlineMs = startMs + boundMs;
    let pending: { index: number; term: number } | null = null;
    const committed = (): boolean => {
      if (pending === null) return false;
      const ledger = cluster.monitor.ledger;
      if (ledger.maxIndex < pending.index) return false;
      const chain = cluster.monitor.logMatching.chainOf(pending.index, pending.term);
      return chain !== undefined && ledger.chainAt(pending.index) === chain;
    };
    let attempt = 0;
    while (world.nowMs < deadlineMs) {
      if (committed()) return world.nowMs - startMs;
      const leader = cluster.leader();
      if (leader !== undefined && (pending === null || pending.term !== leader.term)) {
        const result = leader.propose(payload(`liveness-${++attempt}`, 8));
        if (!("error" in result)) pending = result;
      }
      const stop = (): boolean => committed() || failed();
      await world.runUntil(Math.min(deadlineMs, world.nowMs + LIVENESS_POLL_MS), stop);
      if (failed() || this.hostFailed()) return null;
    }
    if (committed()) return world.nowMs - startMs;
    const leader = cluster.leader();
    throw new SafetyViolation(
      "liveness",
      `no new entry committed within ${boundMs} ms after faults stopped ` +
        `(${backlogEntries} uncommitted entries ahead of it; ` +
        `leader: ${leader ? `${leader.id} in term ${leader.term}` : "none"}; ` +
        `entry proposed: ${pending ? `index ${pending.index}, term ${pending.term}` : "no"})`,
    );
  }
}

/** The ASCII `label`'s bytes, padded with dots to `size` bytes. */
function payload(label: string, size: number): Uint8Array {
  // Char codes, not a TextEncoder call: that costs an off-heap buffer for every entry.
  const data = new Uint8Array(Math.max(size, label.length));
  for (let i = 0; i < label.length; i++) {
    const code = label.charCodeAt(i);
    if (code > 0x7f) throw new RangeError(`payload label "${label}" is not ASCII`);
    data[i] = code;
  }
  data.fill(0x2e, label.length);
  return data;
}

function shuffle<T>(items: T[], random: Prng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!]; // 0 <= j <= i < length
  }
  return items;
}
