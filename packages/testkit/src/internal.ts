// @dlock/testkit/internal: the simulator's parts (worlds, networks, nodes, schedules, checkers)
// for testkit's own tests and tools. Not a stable API; it may change in any release.
export * from "./index.js";
export { EventQueue } from "./event-queue.js";
export { Hasher } from "./hash.js";
export { SimWorld } from "./world.js";
export { CALM_NETWORK, SimNetwork, validateNetworkFaults } from "./network.js";
export { CHAIN_ORIGIN, chainAfter, entryDigest } from "./log-chain.js";
export { HashChainStateMachine } from "./state-machine.js";
export { hostedRaftCluster, simStateMachineAdapter } from "./hosted-raft-cluster.js";
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
export { AsyncWorld, drainMicrotasks } from "./lock/async-world.js";
export { SimProcessClock, wallClockView } from "./lock/sim-process.js";
export { SimClientNetwork, validateClientNetworkFaults } from "./lock/client-network.js";
export { clientAddressOf, LockNodeHost, SIM_CLUSTER_ID } from "./lock/lock-node-host.js";
export { beliefEndMs, LockHistory } from "./lock/lock-history.js";
export { SimLockClient } from "./lock/lock-client.js";
export { emptyLockEvents, missingLockEvents, REQUIRED_LOCK_EVENTS } from "./lock/lock-events.js";
export {
  clockRateBound,
  electionTimeoutMsOf,
  LOCK_LIVENESS_CLIENT_SLACK_MS,
  lockLivenessBoundMs,
  validateLockPlan,
} from "./lock/lock-plan.js";
export {
  DEFAULT_DRIFT_FACTOR,
  LOCK_PROFILES,
  lockPlanArbitrary,
} from "./lock/lock-plan-arbitrary.js";
export {
  LINEARIZABILITY_STEPS_PER_KEY,
  lockerTimeoutsOf,
  lockLimitsOf,
  runLockSchedule,
} from "./lock/run-lock-schedule.js";
export {
  checkLockSchedules,
  emptyLockSummary,
  formatLockFailure,
  LOCK_PLANTED_BUG_NAMES,
  lockPlantedBugs,
  lockReplayCommand,
} from "./lock/lock-check.js";
export { committedGrants } from "./checkers/lock/committed-grants.js";
export { checkMutualExclusion } from "./checkers/lock/mutual-exclusion.js";
export { checkSemaphoreCapacity } from "./checkers/lock/semaphore-capacity.js";
export { checkReaderWriterExclusion } from "./checkers/lock/reader-writer-exclusion.js";
export type { RwBelief } from "./checkers/lock/reader-writer-exclusion.js";
export type { PermitBelief } from "./checkers/lock/semaphore-capacity.js";
export { checkFencing } from "./checkers/lock/fencing.js";
export { checkLockLinearizability, lockHistoriesByKey } from "./checkers/lock/lock-model.js";
export { checkAcknowledgements } from "./checkers/lock/acknowledgements.js";
export { checkLockLiveness } from "./checkers/lock/lock-liveness.js";
export type { ScheduledEvent } from "./event-queue.js";
export type { DeliveryHandler, NetworkFaults, NetworkStats } from "./network.js";
export type { ChainedEntry } from "./log-chain.js";
export type { SimStateMachine, SimStateMachineFactory } from "./state-machine.js";
export type {
  RaftNodeFactory,
  SimNodeDeps,
  SimNodeEvents,
  SimNodeOptions,
  SimNodeStatus,
  SimRaftOptions,
} from "./cluster-node.js";
export type { HostedRaftCluster } from "./hosted-raft-cluster.js";
export type { SimClusterOptions } from "./sim-cluster.js";
export type { FaultKind, FaultStep, FaultTarget, PartitionShape, SchedulePlan } from "./plan.js";
export type { PlanArbitraryOptions, PlanProfile } from "./plan-arbitrary.js";
export type { ScheduleResult } from "./run-schedule.js";
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
export type { ProcessStatus, SimProcess } from "./lock/sim-process.js";
export type {
  ClientNetworkFaults,
  ClientNetworkStats,
  ClientWireObserver,
  ServerConnectionHandler,
  ServerEndpoint,
  ServerSideConnection,
} from "./lock/client-network.js";
export type { CommittedLockEntry, KeyedRequest } from "./lock/lock-history.js";
export type { LockEventCounts } from "./lock/lock-events.js";
export type {
  ClientFaultKind,
  ClientFaultStep,
  ClientOp,
  ClientOpKind,
  ClientPlan,
  LockPlantedBugs,
  LockSchedulePlan,
  RefreshMode,
  WallClockMisuse,
} from "./lock/lock-plan.js";
export type { LockPlanArbitraryOptions, LockProfile } from "./lock/lock-plan-arbitrary.js";
export type { LockScheduleResult, RunLockScheduleOptions } from "./lock/run-lock-schedule.js";
export type {
  CheckLockSchedulesOptions,
  CheckLockSchedulesResult,
  LockPlantedBugName,
  LockSimFailure,
  LockSimSummary,
} from "./lock/lock-check.js";
export type { CommittedGrant } from "./checkers/lock/committed-grants.js";
export type { LockLinearizabilityReport } from "./checkers/lock/lock-model.js";
export type { LockLivenessObservation } from "./checkers/lock/lock-liveness.js";
export { runWatchSchedule } from "./lock/watch-schedule.js";
export type { WatchScheduleOptions, WatchViolation } from "./lock/watch-schedule.js";
