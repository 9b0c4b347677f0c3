// @dlock/client: what an application needs to take locks. The simulator's and tests' hooks
// (injected clock and transport, planted bugs) live in @dlock/client/internal.
export { Locker } from "./locker.js";
export { DEFAULT_SEMAPHORE_COUNT } from "./semaphore-options.js";
export { LIST_LIMIT_MAX, PERMITS_MAX } from "@dlock/protocol";
export type { SemaphoreOptions } from "./semaphore-options.js";
export {
  DEFAULT_REFRESH_FRACTION,
  DEFAULT_RETRY_INTERVAL_MS,
  DEFAULT_RETRY_JITTER_FRACTION,
  DEFAULT_RETRY_LIMIT,
  DEFAULT_TTL_MS,
  DEFAULT_WAIT_MS,
  RETRY_LIMIT_MAX,
  lockConfigFromJSON,
  resolveLockOptions,
  withRefreshInterval,
  withRetryInterval,
  withRetryJitter,
  withRetryLimit,
  withSignal,
  withTTL,
  withWait,
} from "./lock-options.js";
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DRIFT_FACTOR,
  DEFAULT_MARGIN_MS,
  DEFAULT_RECONNECT_DELAY_MS_MAX,
  DEFAULT_RECONNECT_DELAY_MS_MIN,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_UNAVAILABLE_TIMEOUT_MS,
  ENDPOINTS_MAX,
} from "./locker-options.js";
// Every error a caller can receive (one class per ErrorCode, and the bases they share),
// re-exported so applications need only this package; the README says what to do about each.
export {
  AbortedError,
  ClusterUnavailableError,
  ConfigChangeRefusedError,
  ConfigError,
  ConnectionClosedError,
  DlockError,
  FrameTooLargeError,
  HandshakeFailedError,
  InternalError,
  InvalidArgumentError,
  KindMismatchError,
  LockBusyError,
  LockLostError,
  LocksFullError,
  MalformedFrameError,
  NotLeaderError,
  NotOwnerError,
  OverloadedError,
  PermissionDeniedError,
  PermitsMismatchError,
  RetryAfterError,
  TimedOutError,
  TooManyRequestsError,
  UnauthenticatedError,
  WatchRevisionCompactedError,
  parseDuration,
} from "@dlock/protocol";

export type { Grant, Lock, LockState, ReleaseOutcome } from "./types.js";
export type {
  LockOption,
  LockOptions,
  ResolvedLockOptions,
  ValidityParameters,
} from "./lock-options.js";
export type { LockerOptions } from "./locker-options.js";
export type { LockerEventListener, LockerEventName, LockerEvents } from "./locker-events.js";
export type { CallSignalOptions, ListOptions, ReleaseKeyOptions } from "./locker.js";
export type { WatchOptions } from "./watch-options.js";
export type { CampaignOptions, Leader, Leadership, ObserveOptions } from "./election.js";
export { DEFAULT_CAMPAIGN_WAIT_MS, ELECTION_KEY_PREFIX, electionKey } from "./election.js";
export { DEFAULT_WATCH_POLL_MS } from "./watch-options.js";
export { validateClientTlsOptions } from "./tls-options.js";
export type { ClientTlsOptions } from "./tls-options.js";
export type {
  ConfigChangeRefusal,
  Duration,
  ErrorCode,
  HandshakeFailureReason,
  LeaderHint,
  ForceReleaseResult,
  GetResult,
  PermitHolderInfo,
  RwHolderInfo,
  RwInfo,
  SemaphoreInfo,
  ListedLock,
  ListResult,
  WatchEvent,
  WatchEventType,
  MemberInfo,
  MembersResult,
  ReleaseResult,
  StatusResult,
} from "@dlock/protocol";
