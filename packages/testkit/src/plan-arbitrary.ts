import fc from "fast-check";
import type { PlantedBugs } from "@dlock/raft/internal";
import type { FaultStep, FaultTarget, PartitionShape, SchedulePlan } from "./plan.js";
import { electionTicksMin } from "./plan.js";

/** Knobs of the schedule generator; the same options must be given to replay a failure. */
export interface PlanArbitraryOptions {
  /** Cluster sizes to draw from. Default [3, 5]. */
  nodeCounts?: readonly number[];
  /** Fault phase length range in virtual ms. Default [DEFAULT_FAULT_PHASE_MS_MIN, DEFAULT_FAULT_PHASE_MS_MAX]. */
  faultPhaseMsMin?: number;
  faultPhaseMsMax?: number;
  /** Upper bound of fault steps per schedule. Default DEFAULT_FAULTS_MAX. */
  faultsMax?: number;
  plantedBugs?: PlantedBugs;
  /** A joining node's initial membership (see SchedulePlan.joinerBootstrap). Default "initial". */
  joinerBootstrap?: "initial" | "empty";
  /** A profile narrows the generator toward the situations a planted bug needs. */
  profile?: PlanProfile;
}

/**
 * default: everything varies. crashy: leaders crash often, small messages. slowDisk: long fsyncs and little else, where acknowledging before the
 * disk write is visible. staleVoter: partitions and crashes that leave nodes behind, then let them
 * campaign. figure8: the Raft paper's Figure 8: leaders crash or are cut off every few hundred ms,
 * replication moves one entry per message, so logs diverge across terms and an old leader comes
 * back to re-replicate entries of its old term.
 */
export type PlanProfile = "default" | "crashy" | "slowDisk" | "staleVoter" | "figure8";

export const PLAN_PROFILES: readonly PlanProfile[] = [
  "default",
  "crashy",
  "slowDisk",
  "staleVoter",
  "figure8",
];

/** Virtual length of a schedule's fault phase, and its number of fault steps at most. */
export const DEFAULT_FAULT_PHASE_MS_MIN = 2_000;
export const DEFAULT_FAULT_PHASE_MS_MAX = 8_000;
export const DEFAULT_FAULTS_MAX = 30;
/**
 * SchedulePlan.crashAimPermille of generated plans: half the crashes wait for two unsynced
 * batches to tear between, the others strike at their step's moment (mid-election,
 * mid-snapshot...). Set, not drawn: the generator draws the same plans as before the field, and a
 * run decides per crash from the plan's seed.
 */
export const DEFAULT_CRASH_AIM_PERMILLE = 500;

const TARGETS: FaultTarget[] = ["leader", "follower", "any", "nextLeader"];
const SHAPES: PartitionShape[] = [
  "isolate",
  "split",
  "oneWay",
  "bridge",
  "ring",
  "rotate",
  "isolateNextLeader",
];

interface Weights {
  crash: number;
  pause: number;
  partition: number;
  membership: number;
  transfer: number;
}

const PROFILE_WEIGHTS: Record<PlanProfile, Weights> = {
  default: { crash: 4, pause: 2, partition: 4, membership: 2, transfer: 1 },
  crashy: { crash: 8, pause: 1, partition: 3, membership: 0, transfer: 1 },
  slowDisk: { crash: 3, pause: 0, partition: 1, membership: 0, transfer: 0 },
  staleVoter: { crash: 4, pause: 1, partition: 6, membership: 0, transfer: 0 },
  figure8: { crash: 4, pause: 0, partition: 10, membership: 0, transfer: 0 },
};

/** fast-check arbitrary of whole schedules; shrinking reduces faults, load and rates. */
export function planArbitrary(options: PlanArbitraryOptions = {}): fc.Arbitrary<SchedulePlan> {
  const profile = options.profile ?? "default";
  const nodeCounts = options.nodeCounts ?? [3, 5];
  const phaseMin = options.faultPhaseMsMin ?? DEFAULT_FAULT_PHASE_MS_MIN;
  const phaseMax = options.faultPhaseMsMax ?? DEFAULT_FAULT_PHASE_MS_MAX;
  const faultsMax = options.faultsMax ?? DEFAULT_FAULTS_MAX;
  const weights = PROFILE_WEIGHTS[profile];
  const slowDisk = profile === "slowDisk";
  const crashy = profile === "crashy" || profile === "figure8";
  const figure8 = profile === "figure8";
  const faultsCount = figure8 ? Math.max(faultsMax, 80) : faultsMax;

  const at = fc.integer({ min: 0, max: 999 });
  const target = fc.constantFrom(...TARGETS);
  const kinds: fc.WeightedArbitrary<RelativeStep>[] = [];
  if (weights.crash > 0) {
    kinds.push({
      weight: weights.crash,
      arbitrary: fc.record({
        at,
        kind: fc.constant("crash" as const),
        target: figure8
          ? fc.constantFrom<FaultTarget>("nextLeader", "nextLeader", "leader")
          : target,
        downMs: fc.integer({ min: 0, max: figure8 ? 150 : 800 }),
      }),
    });
  }
  if (weights.pause > 0) {
    kinds.push({
      weight: weights.pause,
      arbitrary: fc.record({
        at,
        kind: fc.constant("pause" as const),
        target,
        forMs: fc.integer({ min: 10, max: 800 }),
      }),
    });
  }
  if (weights.partition > 0) {
    kinds.push({
      weight: weights.partition,
      arbitrary: fc.record({
        at,
        kind: fc.constant("partition" as const),
        shape: figure8
          ? fc.constant<PartitionShape>("isolateNextLeader")
          : fc.constantFrom(...SHAPES),
        forMs: fc.integer({ min: 50, max: 1500 }),
      }),
    });
  }
  if (weights.membership > 0) {
    kinds.push({
      weight: weights.membership,
      arbitrary: fc.record({ at, kind: fc.constant("membership" as const) }),
    });
  }
  if (weights.transfer > 0) {
    kinds.push({
      weight: weights.transfer,
      arbitrary: fc.record({ at, kind: fc.constant("transfer" as const) }),
    });
  }

  return fc
    .record({
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      nodeCount: fc.constantFrom(...nodeCounts),
      electionTicks: fc.integer({ min: 5, max: 12 }),
      heartbeatTicks: fc.integer({ min: 1, max: 3 }),
      preVote: fc.boolean(),
      checkQuorum: fc.boolean(),
      messageBytesMax: crashy
        ? fc.integer({ min: 1, max: 64 })
        : fc.integer({ min: 64, max: 4096 }),
      inflightMessagesMax: figure8 ? fc.constant(1) : fc.integer({ min: 1, max: 16 }),
      snapshotChunkBytes: fc.integer({ min: 4, max: 64 }),
      uncommittedBytesMax: fc.integer({ min: 64, max: 2048 }),
      clockDriftPermille: fc.integer({ min: 0, max: 50 }),
      delayMsMin: figure8 ? fc.integer({ min: 2, max: 10 }) : fc.integer({ min: 0, max: 3 }),
      delaySpreadMs: fc.integer({ min: 0, max: 25 }),
      dropPermille: fc.integer({ min: 0, max: 200 }),
      duplicatePermille: fc.integer({ min: 0, max: 100 }),
      reorderPermille: fc.integer({ min: 0, max: 200 }),
      fsyncMsMin: slowDisk ? fc.integer({ min: 5, max: 20 }) : fc.integer({ min: 0, max: 2 }),
      fsyncSpreadMs: slowDisk ? fc.integer({ min: 0, max: 40 }) : fc.integer({ min: 0, max: 10 }),
      tornPermille: fc.integer({ min: 0, max: 1000 }),
      snapshotEveryEntries: fc.integer({ min: 4, max: 200 }),
      readiesInFlightMax: fc.integer({ min: 1, max: 4 }),
      proposalIntervalMs: fc.integer({ min: 2, max: 60 }),
      proposalBytesMax: fc.integer({ min: 1, max: 48 }),
      faultPhaseMs: fc.integer({ min: phaseMin, max: phaseMax }),
      faults: fc.array(fc.oneof(...kinds), {
        minLength: figure8 ? 40 : 0,
        maxLength: faultsCount,
        size: "max",
      }),
    })
    .map((raw): SchedulePlan => {
      const plan: SchedulePlan = {
        seed: raw.seed,
        nodeCount: raw.nodeCount,
        tickMs: 10,
        electionTicks: raw.electionTicks,
        heartbeatTicks: Math.min(raw.heartbeatTicks, raw.electionTicks - 1),
        preVote: raw.preVote,
        checkQuorum: raw.checkQuorum,
        messageBytesMax: raw.messageBytesMax,
        inflightMessagesMax: raw.inflightMessagesMax,
        snapshotChunkBytes: raw.snapshotChunkBytes,
        uncommittedBytesMax: raw.uncommittedBytesMax,
        clockDriftPermille: raw.clockDriftPermille,
        delayMsMin: raw.delayMsMin,
        delayMsMax: raw.delayMsMin + raw.delaySpreadMs,
        dropPermille: raw.dropPermille,
        duplicatePermille: raw.duplicatePermille,
        reorderPermille: raw.reorderPermille,
        fsyncMsMin: raw.fsyncMsMin,
        fsyncMsMax: raw.fsyncMsMin + raw.fsyncSpreadMs,
        tornPermille: raw.tornPermille,
        snapshotEveryEntries: raw.snapshotEveryEntries,
        readiesInFlightMax: raw.readiesInFlightMax,
        proposalIntervalMs: raw.proposalIntervalMs,
        proposalBytesMax: raw.proposalBytesMax,
        faultPhaseMs: raw.faultPhaseMs,
        faults: raw.faults
          .map((step) => toStep(step, raw.faultPhaseMs))
          .sort((a, b) => a.atMs - b.atMs),
      };
      plan.electionTicks = Math.max(plan.electionTicks, electionTicksMin(plan));
      plan.crashAimPermille = DEFAULT_CRASH_AIM_PERMILLE;
      if (options.joinerBootstrap === "empty") plan.joinerBootstrap = "empty";
      if (options.plantedBugs) plan.plantedBugs = { ...options.plantedBugs };
      return plan;
    });
}

type RelativeStep =
  | { at: number; kind: "crash"; target: FaultTarget; downMs: number }
  | { at: number; kind: "pause"; target: FaultTarget; forMs: number }
  | { at: number; kind: "partition"; shape: PartitionShape; forMs: number }
  | { at: number; kind: "membership" }
  | { at: number; kind: "transfer" };

function toStep(step: RelativeStep, faultPhaseMs: number): FaultStep {
  const { at, ...rest } = step;
  return { ...rest, atMs: Math.floor((at * faultPhaseMs) / 1000) } as FaultStep;
}
