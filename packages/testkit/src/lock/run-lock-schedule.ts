import type { Entry } from "@dlock/raft";
import type { LockLimits, LockResult } from "@dlock/server/lock";
import { checkAcknowledgements } from "../checkers/lock/acknowledgements.js";
import { committedGrants, holderChanges } from "../checkers/lock/committed-grants.js";
import { checkFencing } from "../checkers/lock/fencing.js";
import type { LockLivenessObservation, PermitsRefusal } from "../checkers/lock/lock-liveness.js";
import { checkLockLiveness } from "../checkers/lock/lock-liveness.js";
import { checkLockLinearizability } from "../checkers/lock/lock-model.js";
import { checkMutualExclusion } from "../checkers/lock/mutual-exclusion.js";
import type { ElectionHistory } from "../checkers/lock/election-leadership.js";
import { checkElectionLeadership } from "../checkers/lock/election-leadership.js";
import type { PermitBelief } from "../checkers/lock/semaphore-capacity.js";
import { checkSemaphoreCapacity } from "../checkers/lock/semaphore-capacity.js";
import type { RwBelief } from "../checkers/lock/reader-writer-exclusion.js";
import { checkReaderWriterExclusion } from "../checkers/lock/reader-writer-exclusion.js";
import { SafetyViolation } from "../checkers/violation.js";
import type { FaultKind } from "../plan.js";
import { Prng } from "../prng.js";
import { clusterOptionsOf, nodeCountersOf, ScheduleDriver } from "../run-schedule.js";
import { SimCluster } from "../sim-cluster.js";
import type { SimNodeStatus } from "../cluster-node.js";
import type { ClusterNode } from "../cluster-node.js";
import { AsyncWorld } from "./async-world.js";
import { HostedSimNode } from "./hosted-sim-node.js";
import type { ClientNetworkStats } from "./client-network.js";
import { SimClientNetwork } from "./client-network.js";
import { ClientFaultDriver } from "./client-fault-driver.js";
import { FencedResource } from "./fenced-resource.js";
import type {
  LockClientCounters,
  PendingCall,
  ProbeOutcome,
  SimLockerTimeouts,
} from "./lock-client.js";
import { emptyClientCounters, SimLockClient } from "./lock-client.js";
import type { LockEventCounts } from "./lock-events.js";
import { emptyLockEvents } from "./lock-events.js";
import { LockHistory } from "./lock-history.js";
import type { LockNodeObserver } from "./lock-node-host.js";
import { clientAddressOf, commandOf, LockNodeHost } from "./lock-node-host.js";
import type { ClientFaultKind, LockSchedulePlan } from "./lock-plan.js";
import {
  clockRateBound,
  electionTimeoutMsOf,
  isElectionKey,
  keyNameOf,
  lockLivenessBoundMs,
  isRwKey,
  permitsOfKey,
  ttlMaxOf,
} from "./lock-plan.js";
import { samePlainData } from "./same-data.js";

/** Search steps per key for the linearizability check (deterministic, unlike a time budget). */
export const LINEARIZABILITY_STEPS_PER_KEY = 200_000;
/** Share of process clocks set to an extreme of the drift bound (the rest uniform inside it). */
const EXTREME_RATE_SHARE = 2 / 3;
/** How often the liveness phase checks whether it is done, in virtual ms. */
const LIVENESS_POLL_MS = 10;

/** The faults a lock schedule injected and what the nodes went through (summaries add them up). */
export interface LockFaultCounts {
  faults: Record<FaultKind, number>;
  clientFaults: Record<ClientFaultKind, number>;
  elections: number;
  crashes: number;
  /** Crashes that lost unsynced writes; those that kept some of them and lost the rest. */
  crashesLosingWrites: number;
  tornWrites: number;
  snapshotsInstalled: number;
}

export interface LockScheduleResult extends LockFaultCounts {
  plan: LockSchedulePlan;
  violation: SafetyViolation | null;
  traceHash: number;
  virtualMs: number;
  events: number;
  committedIndex: number;
  lockEvents: LockEventCounts;
  clients: LockClientCounters;
  clientNetwork: ClientNetworkStats;
  /** Requests on the wire, and how many never got an answer. */
  requests: number;
  requestsUnanswered: number;
  beliefs: number;
  /** Of those, beliefs in semaphore permits (checked by the semaphore-capacity checker). */
  permitBeliefs: number;
  /** Of those, beliefs in the rw key (checked by the reader-writer-exclusion checker). */
  rwBeliefs: number;
  /** observe() calls of election observers (checked by the election checker). */
  observations: number;
  writes: { accepted: number; rejected: number };
  linearizability: { operations: number; undecidedKeys: number; steps: number };
  /** From the heal to the last probe's grant, in virtual ms (null: not reached). */
  recoveryMs: number | null;
  /** The recorded history, for debugging a failure (requests, commits, beliefs, writes). */
  history: LockHistory;
}

export interface RunLockScheduleOptions {
  /** Linearizability search steps per key. Default LINEARIZABILITY_STEPS_PER_KEY. */
  linearizabilityStepsPerKey?: number;
}

/** Virtual-ms timeouts of the simulated Lockers for a plan. */
export function lockerTimeoutsOf(plan: LockSchedulePlan): SimLockerTimeouts {
  const raft = plan.raft;
  const electionMs = electionTimeoutMsOf(raft);
  const clientRoundTripMs = 2 * plan.clientDelayMsMax;
  const commitMs = 2 * (raft.delayMsMax + raft.fsyncMsMax) + raft.tickMs;
  return {
    connectTimeoutMs: Math.ceil(Math.max(50, 4 * clientRoundTripMs)),
    requestTimeoutMs: Math.ceil(4 * electionMs + 2 * clientRoundTripMs + 4 * commitMs),
    unavailableTimeoutMs: Math.ceil(20 * electionMs),
    reconnectDelayMsMin: 5,
    reconnectDelayMsMax: Math.ceil(Math.max(20, electionMs)),
  };
}

/** The lock limits a simulated node runs with (every node alike unless plan.nodeLimits says). */
export function lockLimitsOf(plan: LockSchedulePlan, nodeId?: string): LockLimits {
  const flags = nodeId === undefined ? undefined : plan.nodeLimits?.[nodeId];
  return { electionTimeoutMs: electionTimeoutMsOf(plan.raft), waitersPerKeyMax: 16, ...flags };
}

/**
 * Runs one lock schedule: the real LockStateMachine on every node, the real LeaseManager on each
 * leader, the request path, and real Lockers on drifting clocks over a faulty client network,
 * under the plan's Raft faults and client faults. Then the liveness phase heals everything, winds
 * the clients down and takes every key with a fresh client; then every lock checker runs on the
 * history. The first violation (Raft checkers during the run, lock checkers after) is reported.
 */
export async function runLockSchedule(
  plan: LockSchedulePlan,
  options: RunLockScheduleOptions = {},
): Promise<LockScheduleResult> {
  const run = new LockRun(plan);
  let violation: SafetyViolation | null = null;
  let recoveryMs: number | null = null;
  try {
    recoveryMs = await run.execute();
  } catch (error) {
    violation =
      error instanceof SafetyViolation
        ? error
        : new SafetyViolation("lockContract", `exception: ${describe(error)}`, { cause: error });
    violation.timeMs = run.world.nowMs;
  }
  // A Raft property broken inside a host's Ready loop: the host caught the throw, the monitor kept it.
  const kept = run.cluster.monitor.violation;
  if (kept !== null) violation = kept;
  violation ??= run.internalError;
  let linearizability = { operations: 0, undecidedKeys: 0, steps: 0 };
  if (violation === null) {
    const checked = run.check(options.linearizabilityStepsPerKey ?? LINEARIZABILITY_STEPS_PER_KEY);
    violation = checked.violation;
    linearizability = checked.linearizability;
  }
  const result = run.result(violation, recoveryMs, linearizability);
  run.closeClients();
  return result;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

class LockRun {
  readonly world: AsyncWorld;
  readonly cluster: SimCluster;
  readonly history: LockHistory;
  readonly events = emptyLockEvents();
  readonly counters = emptyClientCounters();
  internalError: SafetyViolation | null = null;
  private readonly random: Prng;
  private readonly driver: ScheduleDriver;
  private readonly clientNetwork: SimClientNetwork;
  private readonly resource: FencedResource;
  private readonly nodes = new Map<string, HostedSimNode>();
  private readonly hosts = new Map<string, LockNodeHost>();
  private readonly clients: SimLockClient[] = [];
  private readonly clientFaults: ClientFaultDriver;
  private readonly keys: string[];
  private readonly ttlMsMax: number;
  private readonly pausedSince = new Map<string, number>();
  /** Read ids are unique in the cluster: the safety monitor follows every read by its id. */
  private readNumber = 0;
  private liveness: LockLivenessObservation | null = null;

  constructor(private readonly plan: LockSchedulePlan) {
    const raftOptions = clusterOptionsOf(plan.raft);
    // The lock world's own randomness, apart from the cluster's (same seed, another stream).
    this.random = new Prng(plan.raft.seed ^ 0x10c5eed);
    const rateBound = clockRateBound(plan.driftFactor);
    const drawRate = (random: Prng): number => {
      const roll = random.float();
      if (roll < EXTREME_RATE_SHARE / 2) return 1 - rateBound;
      if (roll < EXTREME_RATE_SHARE) return 1 + rateBound;
      return 1 + random.between(-rateBound, rateBound);
    };
    this.cluster = new SimCluster({
      ...raftOptions,
      clockDriftMax: rateBound,
      clockRateOf: (_id, random) => drawRate(random),
      // Every node runs the production RaftHost (LockNodeHost.startHost builds it).
      createNode: (options, bootstrap, deps) => {
        const node = new HostedSimNode(options, bootstrap, deps, {
          start: (started) => this.hostOf(started.id).startHost(started),
          readId: () => ++this.readNumber,
        });
        this.nodes.set(node.id, node);
        return node;
      },
      events: {
        softStateChanged: (node, role, _leader, term) =>
          this.hosts.get(node.id)?.onSoftState(role, term),
        statusChanged: (node, status) => this.onNodeStatus(node, status),
      },
    });
    this.world = new AsyncWorld(this.cluster.world);
    this.history = new LockHistory(() => this.world.nowMs);
    this.driver = new ScheduleDriver(this.cluster, plan.raft);
    this.clientNetwork = new SimClientNetwork(this.world, this.random.fork(), {
      delayMsMin: plan.clientDelayMsMin,
      delayMsMax: plan.clientDelayMsMax,
      resetRate: plan.clientResetPermille / 1000,
      stallRate: plan.clientStallPermille / 1000,
      stallDelayMaxMs: 10 * plan.clientDelayMsMax + 20,
    });
    this.clientNetwork.observer = this.history;
    this.resource = FencedResource.delayed(this.world, this.random.fork(), plan.resourceDelayMsMax);
    this.keys = Array.from({ length: plan.keys }, (_, i) => keyNameOf(plan, i));
    this.ttlMsMax = ttlMaxOf(plan);
    const endpoints = this.cluster.bootstrap.voters.map(clientAddressOf);
    const timeouts = lockerTimeoutsOf(plan);
    const bugs = plan.plantedBugs ?? {};
    const clientCount = plan.clients.length;
    // Semaphore, rw and election clients draw from streams of their own, so the lock clients, the
    // probe, the fault driver and the nodes draw what they drew before those primitives existed.
    const electionClientsFirst = clientCount - (plan.electionClients ?? 0);
    const rwClientCount = plan.rwClients ?? 0;
    const lockClientCount = electionClientsFirst - (plan.semaphoreClients ?? 0) - rwClientCount;
    const semaphoreRandom = new Prng(plan.raft.seed ^ 0x5e3a4);
    const rwRandom = new Prng(plan.raft.seed ^ 0x7e4d1);
    const electionRandom = new Prng(plan.raft.seed ^ 0xe1ec7);
    for (let i = 0; i <= clientCount; i++) {
      // The last one, past the plan's clients, is the liveness probe: a fresh client that starts
      // after the heal.
      const clientPlan = plan.clients[i];
      const probe = clientPlan === undefined;
      const random =
        probe || i < lockClientCount
          ? this.random.fork()
          : i < lockClientCount + rwClientCount
            ? rwRandom.fork()
            : i < electionClientsFirst
              ? semaphoreRandom.fork()
              : electionRandom.fork();
      this.clients.push(
        new SimLockClient({
          name: probe ? "probe" : `c${i + 1}`,
          plan: clientPlan ?? { ops: [] },
          world: this.world,
          network: this.clientNetwork,
          history: this.history,
          resource: this.resource,
          random,
          rate: drawRate(random),
          clockOriginMs: random.between(0, 1e6),
          endpoints,
          keyName: (key) => {
            const name = this.keys[key];
            if (name === undefined) throw new RangeError(`key ${key} is not one of the plan's`);
            return name;
          },
          permitsOf: (key) => permitsOfKey(plan, key),
          isRwKey: (key) => isRwKey(plan, key),
          driftFactor: plan.driftFactor,
          marginMs: plan.marginMs,
          timeouts,
          bugs: bugs.client ?? {},
          usesWallClock: bugs.misuse?.clientUsesWallClock === true,
          counters: this.counters,
          onUnexpectedError: (client, error) => this.fail(`${client}: ${describe(error)}`, error),
        }),
      );
    }
    this.clientFaults = new ClientFaultDriver({
      world: this.world,
      random: this.random.fork(),
      cluster: this.cluster,
      clients: this.clients.slice(0, clientCount),
      network: this.clientNetwork,
      hosts: this.hosts,
      faults: plan.clientFaults,
      clockJumpClients: lockClientCount,
      faultPhaseMs: plan.raft.faultPhaseMs,
      ttlMsMax: this.ttlMsMax,
      events: this.events,
    });
  }

  /** Fault phase, then liveness phase. Returns the recovery time (or throws a violation). */
  async execute(): Promise<number | null> {
    const plan = this.plan;
    this.cluster.start();
    this.driver.scheduleFaults();
    this.clientFaults.schedule();
    const workers = this.clients.slice(0, -1);
    for (const client of workers) client.start();
    const afterEvents = (): boolean => {
      this.history.poll();
      return this.internalError !== null || this.cluster.monitor.violation !== null;
    };
    await this.world.runUntil(plan.raft.faultPhaseMs, afterEvents);
    if (this.internalError !== null || this.cluster.monitor.violation !== null) return null;

    // Liveness: heal everything, wind the workers down, then take every key with a fresh client.
    this.driver.healAll();
    this.clientFaults.healAll();
    this.clientNetwork.mendAll();
    this.clientNetwork.calm();
    const healMs = this.world.nowMs;
    const calls: PendingCall[] = [];
    for (const client of workers) {
      calls.push(...client.pending);
      client.trackedCalls = calls;
      client.windDown();
    }
    let backlogEntries = 0;
    for (const node of this.cluster.members()) {
      const uncommitted = node.storage.lastIndexOf("memory") - this.cluster.monitor.ledger.maxIndex;
      backlogEntries = Math.max(backlogEntries, uncommitted);
    }
    const boundMs = lockLivenessBoundMs(plan, backlogEntries);
    const probe = this.clients.at(-1);
    if (probe === undefined) throw new Error("no liveness probe: the constructor adds it last");
    probe.start();
    probe.trackedCalls = calls;
    let probes: ProbeOutcome[] | null = null;
    void probe
      .probeKeys(this.keys, electionTimeoutMsOf(plan.raft) * 5, healMs + boundMs)
      .then((granted) => {
        probes = granted;
      });
    const done = (): boolean =>
      afterEvents() || (probes !== null && workers.every((client) => client.idle));
    while (this.world.nowMs < healMs + boundMs && !done()) {
      await this.world.runUntil(
        Math.min(healMs + boundMs, this.world.nowMs + LIVENESS_POLL_MS),
        done,
      );
    }
    const outcomes: (ProbeOutcome | null)[] = probes ?? this.keys.map(() => null);
    this.liveness = {
      healMs,
      boundMs,
      calls: calls.map((call) => ({ ...call })),
      probes: this.keys.map((key, i) => ({
        key,
        grantedMs: outcomes[i]?.grantedMs ?? null,
        permitsRefusal: permitsRefusalOf(this.history, outcomes[i]?.refused),
      })),
    };
    // A key refused on its permit count is settled too (the checker judges that refusal).
    const settled = outcomes.every((o) => o !== null && (o.grantedMs !== null || o.refused));
    const granted = outcomes
      .map((outcome) => outcome?.grantedMs ?? null)
      .filter((at): at is number => at !== null);
    return settled && granted.length > 0 ? Math.max(...granted) - healMs : null;
  }

  /**
   * The lock checkers, on the history of the finished run. Semaphore and reader-writer keys have
   * many holders at once: the semaphore-capacity and reader-writer-exclusion checkers cover them,
   * and mutual exclusion, fencing and the lock model see the lock keys only. The election key is a lock key to fencing and the lock model;
   * one leader at a time on it is the election checker's (with its observers). Acknowledgements
   * and liveness cover every key.
   */
  check(stepsPerKey: number): {
    violation: SafetyViolation | null;
    linearizability: { operations: number; undecidedKeys: number; steps: number };
  } {
    const sharedKeys = new Set(
      this.keys.filter((_key, i) => permitsOfKey(this.plan, i) > 0 || isRwKey(this.plan, i)),
    );
    const isLockKey = (key: string): boolean => !sharedKeys.has(key);
    const grants = new Map(
      [...committedGrants(this.history.committed)].filter(([key]) => isLockKey(key)),
    );
    const electionKeys = new Set(this.keys.filter((_key, i) => isElectionKey(this.plan, i)));
    const lockBeliefs = this.history.beliefs.filter(
      (belief) => isLockKey(belief.key) && !electionKeys.has(belief.key),
    );
    const election: ElectionHistory = {
      leaderships: this.history.beliefs.filter((belief) => electionKeys.has(belief.key)),
      observations: this.history.observations,
      committed: new Map([...grants].filter(([key]) => electionKeys.has(key))),
      holders: holderChanges(this.history.committed, electionKeys),
    };
    const permitBeliefs: PermitBelief[] = this.history.beliefs.flatMap((belief) =>
      belief.permit === undefined ? [] : [{ ...belief, ...belief.permit }],
    );
    const rwBeliefs: RwBelief[] = this.history.beliefs.flatMap((belief) =>
      belief.rw === undefined ? [] : [{ ...belief, mode: belief.rw }],
    );
    const lin = { operations: 0, undecidedKeys: 0, steps: 0 };
    const first =
      checkMutualExclusion(grants, lockBeliefs) ??
      checkSemaphoreCapacity(permitBeliefs) ??
      checkReaderWriterExclusion(rwBeliefs) ??
      checkElectionLeadership(election, 1)[0] ??
      checkFencing(grants, this.history.writes) ??
      checkAcknowledgements(this.history.ops, this.history.committed, (index) =>
        this.finalChainAt(index),
      );
    if (first !== null) return { violation: first, linearizability: lin };
    const report = checkLockLinearizability(
      this.history.ops.filter((op) => isLockKey(op.key)),
      [...this.history.committed.values()].filter((entry) => isLockKey(entry.result.key)),
      stepsPerKey,
    );
    lin.operations = report.operations;
    lin.undecidedKeys = report.undecided.length;
    lin.steps = report.steps;
    if (report.violation !== null) return { violation: report.violation, linearizability: lin };
    const liveness = this.liveness === null ? null : checkLockLiveness(this.liveness);
    return { violation: liveness, linearizability: lin };
  }

  result(
    violation: SafetyViolation | null,
    recoveryMs: number | null,
    linearizability: LockScheduleResult["linearizability"],
  ): LockScheduleResult {
    const cluster = this.cluster;
    const { crashes, crashesLosingWrites, tornWrites, snapshotsInstalled } =
      nodeCountersOf(cluster);
    let wallClockJumps = 0;
    for (const host of this.hosts.values()) wallClockJumps += host.clock.jumps;
    for (const client of this.clients) wallClockJumps += client.clock.jumps;
    this.events.wallClockJumps = wallClockJumps;
    const unanswered = this.history.ops.filter((op) => op.response === null).length;
    return {
      plan: this.plan,
      violation,
      traceHash: cluster.world.trace.int(cluster.world.eventCount).digest(),
      virtualMs: cluster.world.nowMs,
      events: cluster.world.eventCount,
      faults: this.driver.faultCounts,
      clientFaults: this.clientFaults.counts,
      elections: cluster.monitor.electionSafety.elections,
      committedIndex: cluster.monitor.ledger.maxIndex,
      crashes,
      crashesLosingWrites,
      tornWrites,
      snapshotsInstalled,
      // Copies: closing the clients after the result (closeClients) must not change it.
      lockEvents: { ...this.events },
      clients: { ...this.counters },
      clientNetwork: { ...this.clientNetwork.stats },
      requests: this.history.ops.length,
      requestsUnanswered: unanswered,
      beliefs: this.history.beliefs.length,
      permitBeliefs: this.history.beliefs.filter((belief) => belief.permit !== undefined).length,
      rwBeliefs: this.history.beliefs.filter((belief) => belief.rw !== undefined).length,
      observations: this.history.observations.length,
      writes: { accepted: this.resource.accepted, rejected: this.resource.rejected },
      linearizability,
      recoveryMs,
      history: this.history,
    };
  }

  /** The run is over and its result taken: closes every client's Lockers (see closeLockers). */
  closeClients(): void {
    for (const client of this.clients) client.closeLockers();
  }

  private fail(message: string, cause: unknown): void {
    this.internalError ??= new SafetyViolation("lockContract", message, { cause });
    this.internalError.timeMs ??= this.world.nowMs;
  }

  /** The chain at `index` in the log of the final leader (any member if none), null if compacted. */
  private finalChainAt(index: number): number | null {
    const node = this.cluster.leader() ?? this.cluster.members().find((member) => member.isUp);
    if (node === undefined) return null;
    if (index <= node.storage.snapshotIndexOf("memory")) return null;
    return node.storage.chainAt(index, "memory") ?? null;
  }

  private hostOf(id: string): LockNodeHost {
    let host = this.hosts.get(id);
    if (host === undefined) {
      const bugs = this.plan.plantedBugs ?? {};
      const node = this.nodes.get(id);
      if (node === undefined) throw new RangeError(`no node ${id}`);
      host = new LockNodeHost(node, {
        world: this.world,
        clientNetwork: this.clientNetwork,
        limits: lockLimitsOf(this.plan, id),
        lockBugs: bugs.lock ?? {},
        serviceBugs: bugs.service ?? {},
        leasesUseWallClock: bugs.misuse?.leasesUseWallClock === true,
        clockOriginMs: this.random.between(0, 1e6),
        readId: () => ++this.readNumber,
        observer: this.observer,
      });
      this.hosts.set(id, host);
    }
    return host;
  }

  private readonly observer: LockNodeObserver = {
    applied: (host, entry, result) => this.onApplied(host, entry, result),
    leaderElected: () => {
      if (this.history.acquiresInFlight > 0) this.events.leaderChangeDuringAcquire++;
    },
    crashed: (_host, unsyncedWrites) => {
      if (unsyncedWrites > 0) this.events.crashBetweenAppendAndFsync++;
    },
    internalError: (host, error) => this.fail(`${host.name}: ${describe(error)}`, error),
  };

  private onApplied(host: LockNodeHost, entry: Entry, result: LockResult | undefined): void {
    if (result === undefined) return;
    const first = this.history.committed.get(entry.index);
    if (first !== undefined) {
      // Every node applies every entry; the history keeps the first, so the others need no
      // decoding. Apply is a function of the log alone: every member gets the first one's result.
      if (this.internalError === null && !samePlainData(first.result, result)) {
        this.internalError = new SafetyViolation(
          "stateMachineSafety",
          `${host.name} applied entry ${entry.index} to ${JSON.stringify(result)}, another member to ${JSON.stringify(first.result)}`,
        );
        this.internalError.timeMs = this.world.nowMs;
      }
      return;
    }
    const chain = this.cluster.monitor.logMatching.chainOf(entry.index, entry.term) ?? 0;
    const recorded = this.history.observeApplied(
      entry.index,
      entry.term,
      chain,
      commandOf(entry),
      result,
    );
    // Not reached (the index was not recorded above); observeApplied keeps the first only.
    if (recorded === null) return;
    const events = this.events;
    const commandType = recorded.command?.type;
    if (
      commandType === "expire" ||
      commandType === "waiterExpire" ||
      commandType === "clearDelay"
    ) {
      events.leaseCommandsCommitted++;
    }
    switch (result.type) {
      case "granted":
        if (!result.renewed) events.grants++;
        return;
      case "released":
      case "delayCleared":
        if (result.next !== null) {
          events.grants++;
          events.waiterGrants++;
        }
        return;
      case "expired": {
        events.expiries++;
        if (result.next !== null) {
          events.grants++;
          events.waiterGrants++;
        }
        const holder = this.clientOfValue(result.value);
        if (holder !== undefined && holder.status === "paused") events.expiryWhileHolderPaused++;
        return;
      }
      case "stale": {
        const command = result.command;
        if (command.type !== "expire") return;
        const info = host.table?.get(command.key);
        // The grant still holds: a refresh moved its lease on after the expire was proposed.
        if (info !== undefined && info.held && info.fencingToken === command.token) {
          events.refreshRacingExpire++;
        }
        return;
      }
      default:
        return;
    }
  }

  private onNodeStatus(node: ClusterNode, status: SimNodeStatus): void {
    this.hostOf(node.id).onStatusChanged(status);
    if (status === "paused") {
      this.pausedSince.set(node.id, this.world.nowMs);
    } else if (status === "running") {
      const since = this.pausedSince.get(node.id);
      this.pausedSince.delete(node.id);
      if (since !== undefined && this.world.nowMs - since > this.ttlMsMax) {
        this.events.nodePauseLongerThanTtl++;
      }
    }
  }

  private clientOfValue(value: string): SimLockClient | undefined {
    const name = value.slice(0, value.indexOf("."));
    return this.clients.find((client) => client.name === name);
  }
}

/**
 * A probe's semaphore acquire refused on its permit count, with the semaphorePermitsMax of the
 * replicated limits in force then: the last setLimits entry applied before the refusal (the
 * leader checks a request against its applied limits before proposing it, so the refusal itself
 * never reaches the log).
 */
function permitsRefusalOf(
  history: LockHistory,
  refused: ProbeOutcome["refused"] | undefined,
): PermitsRefusal | null {
  if (refused === null || refused === undefined) return null;
  let permitsMaxInForce: number | null = null;
  let lastIndex = 0;
  for (const { index, result, appliedMs } of history.committed.values()) {
    if (result.type !== "limitsSet" || appliedMs > refused.atMs || index < lastIndex) continue;
    lastIndex = index;
    permitsMaxInForce = result.limits.semaphorePermitsMax;
  }
  return { permits: refused.permits, atMs: refused.atMs, permitsMaxInForce };
}
