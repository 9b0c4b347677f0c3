// @dlock/testkit: the deterministic simulator of the Raft core, its fault schedules and checkers.
export { Prng } from "./prng.js";
export { EventQueue } from "./event-queue.js";
export { Hasher } from "./hash.js";
export { SimWorld } from "./world.js";
export { CALM_NETWORK, SimNetwork, validateNetworkFaults } from "./network.js";
export { SimStorage, SimStorageError } from "./sim-storage.js";
export { CHAIN_ORIGIN, chainAfter, entryDigest } from "./log-chain.js";
export { HashChainStateMachine } from "./state-machine.js";
export { SimNode } from "./sim-node.js";
export { defaultRaftNodeFactory, SimCluster } from "./sim-cluster.js";
export {
  ELECTION_TIMEOUT_VOTE_ROUNDS_MIN,
  electionTicksMin,
  LIVENESS_ELECTION_TIMEOUTS,
  livenessBoundMs,
  MEMBERSHIP_VOTERS_MAX,
  MEMBERSHIP_VOTERS_MIN,
  PlanError,
  validatePlan,
} from "./plan.js";
export {
  DEFAULT_FAULT_PHASE_MS_MAX,
  DEFAULT_FAULT_PHASE_MS_MIN,
  DEFAULT_FAULTS_MAX,
  PLAN_PROFILES,
  planArbitrary,
} from "./plan-arbitrary.js";
export { runSchedule } from "./run-schedule.js";
export {
  addToSummary,
  checkSchedules,
  emptySummary,
  formatFailure,
  PLANTED_BUG_NAMES,
  replayCommand,
} from "./sim-check.js";
export { SafetyViolation } from "./checkers/violation.js";
export { SafetyMonitor } from "./checkers/safety-monitor.js";
export { CommitLedger, applyChange } from "./checkers/commit-ledger.js";
export { ElectionSafetyChecker } from "./checkers/election-safety.js";
export { LogMatchingChecker } from "./checkers/log-matching.js";
export { LeaderCompletenessChecker } from "./checkers/leader-completeness.js";
export { StateMachineSafetyChecker } from "./checkers/state-machine-safety.js";
export { CommitDurabilityChecker } from "./checkers/commit-durability.js";
export { ReadIndexChecker } from "./checkers/read-index.js";

export type { ScheduledEvent } from "./event-queue.js";
export type { DeliveryHandler, NetworkFaults, NetworkStats } from "./network.js";
export type { CrashLoss } from "./sim-storage.js";
export type { ChainedEntry } from "./log-chain.js";
export type { SimStateMachine, SimStateMachineFactory } from "./state-machine.js";
export type {
  RaftNodeFactory,
  SimNodeDeps,
  SimNodeEvents,
  SimNodeOptions,
  SimNodeStatus,
  SimRaftOptions,
} from "./sim-node.js";
export type { SimClusterOptions } from "./sim-cluster.js";
export type { FaultKind, FaultStep, FaultTarget, PartitionShape, SchedulePlan } from "./plan.js";
export type { PlanArbitraryOptions, PlanProfile } from "./plan-arbitrary.js";
export type { RunScheduleOptions, ScheduleResult } from "./run-schedule.js";
export type {
  CheckSchedulesOptions,
  CheckSchedulesResult,
  PlantedBugName,
  SimFailure,
  SimSummary,
} from "./sim-check.js";
export type { LogView, PropertyName } from "./checkers/violation.js";
export type { ClusterProbe } from "./checkers/safety-monitor.js";
export type { LeaderLog } from "./checkers/leader-completeness.js";
