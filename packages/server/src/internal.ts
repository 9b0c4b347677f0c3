// @dlock/server/internal: what the simulator and tests use to drive the server's real parts and
// to plant deliberate bugs in them. Not for applications (the main entry, index.ts, is the public
// API); it may change in any release.

// ---- planted bugs ----
export { withPlantedLockBugs } from "./lock/planted-lock-bugs.js";
export type { PlantedLockBugs } from "./lock/planted-lock-bugs.js";
export { withPlantedServiceBugs } from "./node/planted-service-bugs.js";
export type { LockServicePlantedBugs } from "./node/planted-service-bugs.js";
