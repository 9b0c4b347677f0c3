// @dlock/raft/internal: what the simulator and tests use to plant deliberate bugs in the real
// Raft core: withPlantedBugs(config, bugs) returns a config that RawNode (directly or through a
// host that spreads its options into the config) runs with those bugs. Not for applications (the
// main entry, index.ts, is the public API); it may change in any release.
export { plantedBugsOf, withPlantedBugs } from "./planted-bugs.js";
export type { InternalRaftConfig, PlantedBugs } from "./planted-bugs.js";
