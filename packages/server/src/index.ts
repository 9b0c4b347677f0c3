// @dlock/server: the dlock server's building blocks. The pure lock state machine is exported
// separately as @dlock/server/lock.

// ---- storage (LevelDB) and group commit ----
export {
  DEFAULT_GROUP_COMMIT_OPTIONS,
  EMPTY_MEMBERS,
  GroupCommitter,
  LevelStorage,
  StorageError,
  confStateOf,
  copyMembers,
} from "./storage/index.js";
export type {
  BatchWriter,
  ClusterMembers,
  GroupCommitOptions,
  GroupCommitStats,
  HostStorage,
  LockRecordChange,
  SnapshotContents,
  StorageErrorCode,
  StorageOpenOptions,
  StorageStats,
  StorageWrite,
} from "./storage/index.js";

// ---- Raft host ----
export {
  DEFAULT_RAFT_HOST_OPTIONS,
  HostError,
  NODE_SCHEDULER,
  RaftHost,
  lockStateMachineAdapter,
  resolveRaftHostOptions,
} from "./host/index.js";
export type {
  HostErrorCode,
  HostRaftSettings,
  HostScheduler,
  HostStatus,
  PeerTransport,
  RaftHostOptions,
  RaftNodeFactory,
  ResolvedRaftHostOptions,
  RoleChange,
  ScheduledHandle,
  StateMachine,
} from "./host/index.js";

// ---- configuration and logging ----
export {
  ConfigError,
  DEFAULT_SERVER_OPTIONS,
  componentLogger,
  createLogger,
  formatHostPort,
  isWildcardHost,
  parseHostPort,
  resolveServerOptions,
} from "./config/index.js";
export type {
  HostPort,
  LogLevel,
  Logger,
  LoggerOptions,
  ResolvedServerOptions,
  ServerOptions,
} from "./config/index.js";

// ---- the composed server and its lock service ----
export {
  DlockServer,
  LockService,
  REAL_TIMERS,
  hostFailureToWire,
  lockRefusalToWire,
  nodeStatusSnapshot,
  statusResult,
} from "./node/index.js";
export type {
  DlockServerAddresses,
  DlockServerDependencies,
  LockServiceHost,
  LockServiceOptions,
  LockServicePlantedBugs,
  MemberAddresses,
  ServiceTimers,
} from "./node/index.js";

// ---- network edges and the admin port ----
export {
  CLIENT_CERTIFICATE_MODES,
  CLIENT_URI_PREFIX,
  NODE_URI_PREFIX,
  TcpPeerTransport,
  clientNameFromCertificate,
  nodeIdFromCertificate,
} from "./transport/index.js";
export type {
  ClientCertificateMode,
  TcpPeerTransportOptions,
  TlsOptions,
} from "./transport/index.js";
export { ClientServer } from "./client-server/index.js";
export type {
  ClientRequestContext,
  ClientRequestHandler,
  ClientResult,
  ClientServerOptions,
} from "./client-server/index.js";
export { AdminServer, ServerMetrics } from "./admin/index.js";
export type { AdminStatusProvider, NodeStatusSnapshot } from "./admin/index.js";
/** The body of the admin port's GET /status. */
export type { AdminStatus } from "@dlock/protocol";

// ---- client authentication and authorization ----
export {
  AUTH_TOKEN_PREFIX,
  Authenticator,
  AuthorizingHandler,
  allows,
  bindValue,
  certificateNameOf,
  generateAuthToken,
  hashAuthToken,
  holderOf,
  loadAuthFile,
  parseAuthFile,
  scopeCovers,
} from "./auth/index.js";
export type {
  AuthEntry,
  ClientCredentials,
  Grant,
  Operation,
  Principal,
  Role,
} from "./auth/index.js";
