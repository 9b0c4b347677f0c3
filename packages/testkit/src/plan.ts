import type { PlantedBugs } from "@dlock/raft/internal";

/**
 * Who a crash or pause hits, resolved when it happens. "nextLeader" arms the fault and fires it
 * on the next node to win an election, within a few round trips of its victory, while its first
 * entries are still on few disks (the Figure 8 situations).
 */
export type FaultTarget = "leader" | "follower" | "any" | "nextLeader";

/**
 * isolate: one node cut off both ways; split: two groups cut both ways; oneWay: one group cannot
 * reach the other (the reverse works); bridge: two groups that only one node links; ring: each node
 * reaches only its ring neighbours (for 5 nodes every node sees a majority, no two the same one);
 * rotate: one node at a time is isolated, moving on to the next every forMs / nodes;
 * isolateNextLeader: the next node to win an election is isolated within a few round trips of
 * its victory (see FaultTarget "nextLeader"); isolateLeader: the current leader is isolated (the
 * lock simulator's stale-leader schedules; not drawn by the Raft schedule generator).
 */
export type PartitionShape =
  | "isolate"
  | "split"
  | "oneWay"
  | "bridge"
  | "ring"
  | "rotate"
  | "isolateNextLeader"
  | "isolateLeader";

export type FaultStep =
  | { atMs: number; kind: "crash"; target: FaultTarget; downMs: number }
  | { atMs: number; kind: "pause"; target: FaultTarget; forMs: number }
  | { atMs: number; kind: "partition"; shape: PartitionShape; forMs: number }
  /** Add a learner, promote a caught-up learner or remove a voter, whichever fits then. */
  | { atMs: number; kind: "membership" }
  | { atMs: number; kind: "transfer" };

export type FaultKind = FaultStep["kind"];

/** Everything one simulated run depends on. A plan and its seed replay the run exactly. */
export interface SchedulePlan {
  seed: number;
  nodeCount: number;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  messageBytesMax: number;
  inflightMessagesMax: number;
  snapshotChunkBytes: number;
  /** Small, so that overload makes the leader refuse proposals instead of building a backlog. */
  uncommittedBytesMax: number;
  /** Clock rates within ±clockDriftPermille/1000 of true time. */
  clockDriftPermille: number;
  delayMsMin: number;
  delayMsMax: number;
  dropPermille: number;
  duplicatePermille: number;
  reorderPermille: number;
  fsyncMsMin: number;
  fsyncMsMax: number;
  tornPermille: number;
  snapshotEveryEntries: number;
  readiesInFlightMax: number;
  /** Mean interval between client proposals; 0 = no load. */
  proposalIntervalMs: number;
  proposalBytesMax: number;
  /** Faults happen in [0, faultPhaseMs); then the liveness phase heals everything. */
  faultPhaseMs: number;
  faults: FaultStep[];
  plantedBugs?: PlantedBugs;
  /**
   * What a joining node's disk starts with: the cluster's initial membership (default), or an
   * empty one. With "empty", a joiner that catches up from the log instead of a snapshot never
   * learns the bootstrap voters (they are not log entries): see the testkit README.
   */
  joinerBootstrap?: "initial" | "empty";
  /**
   * Share of crashes (per mille) aimed at a torn write: such a crash waits, at most
   * CRASH_AIM_WAIT_MS_MAX of virtual time, until the node's disk holds CRASH_AIM_UNSYNCED_BATCHES
   * unsynced batches, so that it may keep some of them and lose the rest. Absent (plans saved
   * before it): 0, every crash strikes when its step says.
   */
  crashAimPermille?: number;
}

/** An aimed crash waits for this many unsynced batches (the fewest a crash can tear between)… */
export const CRASH_AIM_UNSYNCED_BATCHES = 2;
/** …for this long at most, in virtual ms, then strikes anyway. */
export const CRASH_AIM_WAIT_MS_MAX = 500;

/** Membership is kept within these voter counts. */
export const MEMBERSHIP_VOTERS_MIN = 3;
export const MEMBERSHIP_VOTERS_MAX = 5;

/**
 * After faults stop, a leader must be elected and a new entry committed within this many maximal
 * election timeouts (2 × electionTicks × tickMs, stretched by the slowest clock), plus one
 * worst-case replication round for every entry already waiting ahead of the new one.
 */
export const LIVENESS_ELECTION_TIMEOUTS = 20;

/**
 * The timing assumption liveness rests on (Raft §5.6: broadcast time ≪ election timeout): the
 * shortest election timeout is at least this many worst-case vote rounds (a message each way and
 * an fsync on each side). Schedules that break it can livelock in elections, correctly.
 */
export const ELECTION_TIMEOUT_VOTE_ROUNDS_MIN = 2;

/** Smallest electionTicks that satisfies the timing assumption for this plan. */
export function electionTicksMin(plan: SchedulePlan): number {
  const voteRoundMs = 2 * plan.delayMsMax + 2 * plan.fsyncMsMax;
  const slowestRate = 1 - plan.clockDriftPermille / 1000;
  return Math.ceil((ELECTION_TIMEOUT_VOTE_ROUNDS_MIN * voteRoundMs) / (plan.tickMs * slowestRate));
}

/**
 * The liveness bound in virtual ms when `backlogEntries` uncommitted entries precede the new one.
 * A replication round is a message each way, an fsync on each side and a tick.
 */
export function livenessBoundMs(plan: SchedulePlan, backlogEntries = 0): number {
  const slowestRate = 1 - plan.clockDriftPermille / 1000;
  const elections =
    (LIVENESS_ELECTION_TIMEOUTS * 2 * plan.electionTicks * plan.tickMs) / slowestRate;
  const roundMs = 2 * plan.delayMsMax + 2 * plan.fsyncMsMax + plan.tickMs / slowestRate;
  return Math.ceil(elections + backlogEntries * roundMs);
}

/** A plan read from a file is checked before it runs; a bad one is a usage error, not a crash. */
export class PlanError extends Error {
  readonly code = "INVALID_PLAN";
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

const PLAN_NUMBERS = [
  "seed",
  "nodeCount",
  "tickMs",
  "electionTicks",
  "heartbeatTicks",
  "messageBytesMax",
  "inflightMessagesMax",
  "snapshotChunkBytes",
  "uncommittedBytesMax",
  "clockDriftPermille",
  "delayMsMin",
  "delayMsMax",
  "dropPermille",
  "duplicatePermille",
  "reorderPermille",
  "fsyncMsMin",
  "fsyncMsMax",
  "tornPermille",
  "snapshotEveryEntries",
  "readiesInFlightMax",
  "proposalIntervalMs",
  "proposalBytesMax",
  "faultPhaseMs",
] as const;

const FAULT_KINDS = new Set(["crash", "pause", "partition", "membership", "transfer"]);

/**
 * Plan fields renamed to the `<noun><Unit><Qualifier>` rule (old name → new name). Plans saved
 * with the old names are still read, for one release: validatePlan renames them.
 */
export const PLAN_FIELD_RENAMES: Readonly<Record<string, string>> = {
  maxMessageBytes: "messageBytesMax",
  maxInflightMessages: "inflightMessagesMax",
  maxUncommittedBytes: "uncommittedBytesMax",
  minDelayMs: "delayMsMin",
  maxDelayMs: "delayMsMax",
  fsyncMinMs: "fsyncMsMin",
  fsyncMaxMs: "fsyncMsMax",
};

/** A copy of `value` with every old field name of `renames` replaced by its new one. */
export function renameFields(
  value: object,
  renames: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value };
  for (const [old, current] of Object.entries(renames)) {
    if (!(old in copy)) continue;
    if (!(current in copy)) copy[current] = copy[old];
    delete copy[old];
  }
  return copy;
}

/**
 * Checks the shape and ranges of a plan (e.g. one edited by hand or saved by an older release,
 * whose field names it renames); throws PlanError. Returns the plan with the current names.
 */
export function validatePlan(value: unknown): SchedulePlan {
  if (typeof value !== "object" || value === null) throw new PlanError("plan must be an object");
  const plan = renameFields(value, PLAN_FIELD_RENAMES);
  for (const key of PLAN_NUMBERS) {
    const field = plan[key];
    if (typeof field !== "number" || !Number.isFinite(field) || field < 0) {
      throw new PlanError(`plan.${key} must be a finite number ≥ 0`);
    }
  }
  for (const key of ["dropPermille", "duplicatePermille", "reorderPermille", "tornPermille"]) {
    if ((plan[key] as number) > 1000) throw new PlanError(`plan.${key} must be ≤ 1000`);
  }
  const aim = plan.crashAimPermille;
  if (aim !== undefined && (typeof aim !== "number" || !(aim >= 0 && aim <= 1000))) {
    throw new PlanError("plan.crashAimPermille must be a number in [0, 1000] when present");
  }
  if (typeof plan.preVote !== "boolean" || typeof plan.checkQuorum !== "boolean") {
    throw new PlanError("plan.preVote and plan.checkQuorum must be booleans");
  }
  if (!Number.isInteger(plan.nodeCount) || (plan.nodeCount as number) < 1) {
    throw new PlanError("plan.nodeCount must be a positive integer");
  }
  if ((plan.clockDriftPermille as number) >= 500) {
    throw new PlanError("plan.clockDriftPermille must be < 500");
  }
  if (!Array.isArray(plan.faults)) throw new PlanError("plan.faults must be an array");
  for (const step of plan.faults as unknown[]) {
    const fault = step as Record<string, unknown>;
    if (typeof fault !== "object" || fault === null || !FAULT_KINDS.has(fault.kind as string)) {
      throw new PlanError(`unknown fault step ${JSON.stringify(step)}`);
    }
    if (typeof fault.atMs !== "number" || !(fault.atMs >= 0)) {
      throw new PlanError(`fault step ${JSON.stringify(step)} needs atMs ≥ 0`);
    }
  }
  return plan as unknown as SchedulePlan;
}
