export {
  AbortedError,
  ClusterUnavailableError,
  ConfigChangeRefusedError,
  ConnectionClosedError,
  DlockError,
  FrameTooLargeError,
  HandshakeFailedError,
  InternalError,
  InvalidArgumentError,
  LockBusyError,
  LockLostError,
  LocksFullError,
  MalformedFrameError,
  NotLeaderError,
  NotOwnerError,
  OverloadedError,
  PermissionDeniedError,
  KindMismatchError,
  PermitsMismatchError,
  RetryAfterError,
  TimedOutError,
  TooManyRequestsError,
  UnauthenticatedError,
  WatchRevisionCompactedError,
  errorFromWire,
  errorToWire,
} from "./errors.js";
export {
  AUTH_TOKEN_BYTES_MAX,
  DURATION_MS_MAX,
  FRAME_BYTES_MAX,
  ID_BYTES_MAX,
  IN_FLIGHT_REQUESTS_MAX,
  KEY_BYTES_MAX,
  REQUEST_ID_BYTES_MAX,
  VALUE_BYTES_MAX,
  isAuthToken,
  validateDurationMs,
  validateHostPort,
  validateId,
  validateKey,
  validateRequestId,
  validateToken,
  validatePermits,
  PERMITS_MAX,
  WAITERS_PER_KEY_MAX,
  TABLE_LIMIT_NAMES,
  validateValue,
  validateKeyPrefix,
} from "./limits.js";
export { formatDuration, parseDuration } from "./duration.js";
export { ConfigError } from "./config-error.js";
export { CodedError } from "./coded-error.js";
export {
  ADDRESS_CHARS_MAX,
  formatHostPort,
  isLoopbackHost,
  isWildcardHost,
  parseHostPort,
} from "./address.js";
export {
  durationMsOption,
  integerOption,
  nodeIdentityOptions,
  nonEmptyStringOption,
  positiveInteger,
} from "./option-checks.js";
export type { NodeIdentity } from "./option-checks.js";
export { SILENT_LOGGER } from "./logger.js";
export { PROTOCOL_VERSION, PROTOCOL_VERSION_MIN } from "./messages.js";
export { FRAME_HEADER_BYTES, FrameEncoder, decodeBody } from "./codec.js";
export { FrameDecoder } from "./frame-decoder.js";
export {
  HANDSHAKE_TIMEOUT_MS_DEFAULT,
  PROTOCOL_VERSIONS,
  checkHello,
  helloVersionFields,
  negotiateProtocolVersion,
  parseHello,
} from "./handshake.js";
export {
  REQUEST_ID_MAX,
  parseClientRequest,
  parseClientResponse,
  parseRaftBatch,
  parseResult,
  peekRequestId,
} from "./parse.js";

export type {
  ConfigChangeRefusal,
  ErrorCode,
  HandshakeFailureReason,
  LeaderHint,
  WireError,
} from "./errors.js";
export type { Duration } from "./duration.js";
export type { TableLimitName } from "./limits.js";
export type { HostPort, HostPortRules } from "./address.js";
export type { Logger } from "./logger.js";
export type {
  AdminStatus,
  EventLoopLagSnapshot,
  NodeMemberStatus,
  NodeRole,
  NodeStatusSnapshot,
  RaftLogStatus,
} from "./admin-status.js";
export type { FrameDecoderOptions } from "./frame-decoder.js";
export type { HelloExpectation, ProtocolVersionRange } from "./handshake.js";
export type {
  AddMemberRequest,
  MemberInfo,
  MembersRequest,
  MembersResult,
  PromoteMemberRequest,
  RemoveMemberRequest,
  AcquireRequest,
  AcquireResult,
  CancelRequest,
  CancelResult,
  ClientRequest,
  ClientRequestType,
  ClientResponse,
  ConnectionRole,
  ErrorFrame,
  ForceReleaseRequest,
  ForceReleaseResult,
  Frame,
  GetRequest,
  GetResult,
  HelloFrame,
  MemberRole,
  MemberStatus,
  OkFrame,
  PermitHolderInfo,
  RwHolderInfo,
  RwInfo,
  RaftBatchFrame,
  RefreshRequest,
  RefreshResult,
  ReleaseRequest,
  ReleaseResult,
  ResultByRequestType,
  SemaphoreInfo,
  StatusRequest,
  StatusResult,
  TableLimitsStatus,
  ListedLock,
  ListRequest,
  ListResult,
  WatchEvent,
  WatchEventType,
  WatchRequest,
  WatchResult,
} from "./messages.js";
export {
  ELECTION_KEY_PREFIX,
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  LIST_PAGE_BYTES_MAX,
  WATCH_EVENTS_MAX,
  WATCH_WAIT_MS_MAX,
} from "./watch-limits.js";
