export { FaultProxy } from "./fault-proxy.js";
export type { FaultProxyOptions, LinkFault } from "./fault-proxy.js";
export { ChaosCluster } from "./chaos-cluster.js";
export type { ChaosClusterOptions } from "./chaos-cluster.js";
export { History } from "./history.js";
export type { FaultRecord, OpKind, OpRecord } from "./history.js";
export {
  checkAcknowledged,
  checkElections,
  checkEveryPrimitive,
  checkFencing,
  checkMutualExclusion,
  checkReaderWriters,
  checkSemaphores,
} from "./checks.js";
export type { CheckResult } from "./checks.js";
export { FAULT_KINDS, Nemesis } from "./nemesis.js";
export type { FaultKind, NemesisOptions } from "./nemesis.js";
export { DEFAULT_CHAOS_CLIENTS, DEFAULT_CLIENT_MIX, Workload, clientsPerKind } from "./workload.js";
export type { ClientMixEntry, WorkloadOptions } from "./workload.js";
export type { ChaosClientContext, ChaosClientKind } from "./client-kind.js";
export { lockClients } from "./lock-clients.js";
export { SEMAPHORE_KEY, SEMAPHORE_PERMITS, semaphoreClients } from "./semaphore-clients.js";
export { RW_KEY, rwClients } from "./rw-clients.js";
export { ELECTION_NAME, campaigners, observers } from "./election-clients.js";
export { runChaos } from "./run-chaos.js";
export type { ChaosOptions, ChaosSummary } from "./run-chaos.js";
export { formatSummary } from "./summary-format.js";
export {
  STEP_BUDGET_PER_KEY,
  checkLinearizability,
  lockKeyRequests,
} from "./linearizability-check.js";
export type { LinearizabilityCheckResult, WireHistory } from "./linearizability-check.js";
export { pinnedState, splitAtPins } from "./history-segments.js";
export type { HistorySegment } from "./history-segments.js";
export { formatRecheck, ChaosInputError, recheckWireFile } from "./recheck.js";
