// @dlock/server/lock: the pure, deterministic lock state machine and the leader's lease clock.
// No clock, no timers, no I/O: the server host and the simulator drive both.

export { LockStateMachine } from "./state-machine.js";
export {
  LeaseManager,
  DEFAULT_LEASE_MANAGER_OPTIONS,
  resolveLeaseManagerOptions,
} from "./lease-manager.js";
export { encodeCommand, decodeCommand, utf8Bytes } from "./codec.js";
export { decodeKeyStateRecord as decodeLockRecord } from "./table-codec.js";
export { waiterLeaseMs } from "./key-state.js";
export {
  DEFAULT_LOCK_LIMITS,
  TTL_MIN_ELECTION_TIMEOUTS,
  resolveLockLimits,
  resolvePlantedLockBugs,
} from "./limits.js";
export { LockError, LockInvariantError } from "./errors.js";

export type { LockStateMachineOptions } from "./state-machine.js";
export type { LeaseManagerOptions, ResolvedLeaseManagerOptions } from "./lease-manager.js";
export type {
  AcquireCommand,
  RefreshCommand,
  ReleaseCommand,
  ExpireCommand,
  WaiterExpireCommand,
  CancelWaitCommand,
  ClearDelayCommand,
  LockCommand,
  LockCommandType,
  LeaseCommand,
} from "./commands.js";
export type {
  LockResult,
  GrantedResult,
  QueuedResult,
  BusyResult,
  RefreshedResult,
  ReleasedResult,
  NotHeldResult,
  ExpiredResult,
  WaiterRemovedResult,
  NotQueuedResult,
  DelayClearedResult,
  StaleResult,
  RejectedResult,
  WaiterGrant,
  LockInfo,
} from "./results.js";
export type { KeyState, Waiter } from "./key-state.js";
export type { LockLimits, ResolvedLockLimits, PlantedLockBugs } from "./limits.js";
export type { LockErrorCode } from "./errors.js";
