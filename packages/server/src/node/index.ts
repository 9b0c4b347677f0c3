export { DlockServer } from "./dlock-server.js";
export type { DlockServerAddresses, DlockServerDependencies } from "./dlock-server.js";
export { LockService, REAL_TIMERS } from "./lock-service.js";
export type { LockServiceHost, LockServiceOptions, ServiceTimers } from "./lock-service.js";
export { nodeStatusSnapshot, statusResult } from "./node-status.js";
export type { MemberAddresses } from "./node-status.js";
export { hostFailureToWire, lockRefusalToWire } from "./wire-errors.js";
