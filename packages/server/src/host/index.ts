export { RaftHost } from "./raft-host.js";
export type { HostStatus, RoleChange } from "./raft-host.js";
export { DEFAULT_RAFT_HOST_OPTIONS, resolveRaftHostOptions } from "./options.js";
export type {
  HostRaftSettings,
  RaftHostOptions,
  RaftNodeFactory,
  ResolvedRaftHostOptions,
} from "./options.js";
export type { PeerTransport, StateMachine } from "./interfaces.js";
export { lockStateMachineAdapter } from "./lock-state-machine-adapter.js";
export { HostError } from "./errors.js";
export type { HostErrorCode } from "./errors.js";
export type { HostScheduler, ScheduledHandle } from "./scheduler.js";
export { NODE_SCHEDULER } from "./node-edges.js";
