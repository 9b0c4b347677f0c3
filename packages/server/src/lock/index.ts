// @dlock/server/lock: the pure, deterministic lock state machine and the leader's lease clock.
// No clock, no timers, no I/O: the server host and the simulator drive both, like this:
//
// - start: table = new LockStateMachine({ limits }) (this node's configured limits), then
//   table.loadRecords(storedAppliedIndex, storedRecords); leases = new LeaseManager(options).
// - client request: error = table.validate(command); if none, propose(encodeCommand(command)).
//   Never accept expire / waiterExpire / clearDelay from clients: only the lease manager makes them.
// - committed entry: normal → result = table.applyEntry(index, data), then
//   leases.onApplied(result, monotonicNowMs) for EVERY result (it ignores them on followers);
//   no-op / config → table.markApplied(index). Answer the client from the result; a queued
//   acquire is answered later by the `next` grant whose requestId matches (see WaiterGrant for
//   what to tell the waiter about its validity).
// - after each applied batch: for key of table.takeDirtyKeys(), put encodeLockRecord(key) or
//   delete it (null) in the SAME LevelDB batch as appliedIndex.
// - role change: leases.becomeLeader(monotonicNowMs, table) / leases.becomeFollower(); a new
//   leader proposes table.limitsProposal() (if not null) before any client command, and again
//   after an apply if the limits in force no longer match its own.
// - timer at leases.nextDueMs(): propose encodeCommand(c) for c of leases.dueExpiries(now);
//   on a refused proposal call leases.proposalFailed(c).
// - Raft snapshot: table.snapshot() / table.restoreSnapshot(bytes); after a restore rewrite the
//   whole stored table and re-run becomeLeader/becomeFollower.

export { LockStateMachine } from "./state-machine.js";
export {
  LeaseManager,
  DEFAULT_LEASE_MANAGER_OPTIONS,
  resolveLeaseManagerOptions,
} from "./lease-manager.js";
export { encodeCommand, decodeCommand, utf8Bytes } from "./codec.js";
export { decodeKeyStateRecord as decodeLockRecord } from "./table-codec.js";
export { waiterLeaseMs } from "./key-state.js";
export { permitGrantsOf } from "./results.js";
export {
  DEFAULT_LOCK_LIMITS,
  TABLE_LIMIT_NAMES,
  TTL_MIN_ELECTION_TIMEOUTS,
  resolveLockLimits,
  sameTableLimits,
  tableLimitsOf,
} from "./limits.js";
export { LockError, LockInvariantError } from "./errors.js";
export { lockEventsOf } from "./lock-events.js";

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
  SemaphoreAcquireCommand,
  RwAcquireCommand,
  RwMode,
  PermitExpireCommand,
  SetLimitsCommand,
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
  LimitsSetResult,
  WaiterGrant,
  LockInfo,
} from "./results.js";
export type { KeyState, Waiter } from "./key-state.js";
export type { MultiHolderKind, MultiHolderState, SemaphoreState } from "./multi-holder-state.js";
export { isRwWriter } from "./multi-holder-state.js";
export { multiHolderInfo } from "./multi-holder-info.js";
export type { PermitHolder, PermitWaiter } from "./multi-holder-state.js";
export type { LockLimits, ResolvedLockLimits, TableLimits } from "./limits.js";
export type { LockErrorCode } from "./errors.js";
export type { LockEvent, LockEventType } from "./lock-events.js";
