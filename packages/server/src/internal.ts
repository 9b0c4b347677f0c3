// @dlock/server/internal: the server's building blocks (Raft host, storage, transports, lock
// service, admin and auth parts) for the simulator, tools and tests, and the switches that plant
// deliberate bugs in them. Not for applications (the main entry, index.ts, is the public API); it
// may change in any release.
export * from "./index.js";
export {
  DEFAULT_GROUP_COMMIT_OPTIONS,
  EMPTY_MEMBERS,
  GroupCommitter,
  LevelStorage,
  MemoryHostStorage,
  confStateOf,
  copyMembers,
  wholeSnapshot,
} from "./storage/index.js";
export type {
  BatchWriter,
  ClusterMembers,
  GroupCommitOptions,
  GroupCommitStats,
  HostStorage,
  LockRecordChange,
  MemoryHostStorageOptions,
  SnapshotContents,
  StorageOpenOptions,
  StorageStats,
  StorageWrite,
} from "./storage/index.js";
export {
  DEFAULT_RAFT_HOST_OPTIONS,
  NODE_SCHEDULER,
  RaftHost,
  lockStateMachineAdapter,
  resolveRaftHostOptions,
} from "./host/index.js";
export type {
  HostRaftSettings,
  HostScheduler,
  PeerTransport,
  RaftHostOptions,
  RaftNodeFactory,
  ResolvedRaftHostOptions,
  RoleChange,
  ScheduledHandle,
  StateMachine,
} from "./host/index.js";
export { componentLogger, formatHostPort, isWildcardHost, parseHostPort } from "./config/index.js";
export type { HostPort } from "./config/index.js";
export {
  LockService,
  REAL_TIMERS,
  hostFailureToWire,
  lockRefusalToWire,
  nodeStatusSnapshot,
  statusResult,
} from "./node/index.js";
export type {
  LockServiceHost,
  LockServiceOptions,
  MemberAddresses,
  ServiceTimers,
} from "./node/index.js";
export {
  CLIENT_URI_PREFIX,
  NODE_URI_PREFIX,
  TcpPeerTransport,
  clientNameFromCertificate,
  nodeIdFromCertificate,
} from "./transport/index.js";
export type { TcpPeerTransportOptions } from "./transport/index.js";
export { ClientServer } from "./client-server/index.js";
export type {
  ClientRequestContext,
  ClientRequestHandler,
  ClientResult,
  ClientServerOptions,
} from "./client-server/index.js";
export { AdminServer, ServerMetrics } from "./admin/index.js";
export type { AdminStatusProvider } from "./admin/index.js";
export {
  Authenticator,
  AuthorizingHandler,
  allows,
  bindValue,
  certificateNameOf,
  holderOf,
  scopeCovers,
} from "./auth/index.js";
export type { ClientCredentials, Principal } from "./auth/index.js";

// ---- planted bugs ----
export { withPlantedLockBugs } from "./lock/planted-lock-bugs.js";
export { resolveLockLimits } from "./lock/index.js";
export type { PlantedLockBugs } from "./lock/planted-lock-bugs.js";
export { withPlantedServiceBugs } from "./node/planted-service-bugs.js";
export type { LockServicePlantedBugs } from "./node/planted-service-bugs.js";
export { withHostPlantedBugs } from "./host/planted-bugs.js";
export type { HostPlantedBugs } from "./host/planted-bugs.js";
export { withStorageWriteFault } from "./node/storage-write-fault.js";
export type { StorageWriteFault } from "./node/storage-write-fault.js";
export { WatchService } from "./watch/watch-service.js";
export type { WatchServiceOptions } from "./watch/watch-service.js";
export { withPlantedWatchBugs } from "./watch/planted-watch-bugs.js";
export type { PlantedWatchBugs } from "./watch/planted-watch-bugs.js";
