// @dlock/raft/internal: what the simulator and tests use to plant deliberate bugs in the real
// Raft core. Not for applications (the main entry, index.ts, is the public API); it may change in
// any release.
import type { RaftConfig } from "./config.js";
import type { PlantedBugs } from "./planted-bugs.js";
import { withPlantedBugs } from "./planted-bugs.js";
import { RawNode } from "./raw-node.js";
import type { Storage } from "./storage.js";

/** A RawNode with the given bugs switched on. */
export function createRawNodeWithBugs(
  config: RaftConfig,
  storage: Storage,
  bugs: PlantedBugs,
): RawNode {
  return new RawNode(withPlantedBugs(config, bugs), storage);
}

export { plantedBugsOf, withPlantedBugs } from "./planted-bugs.js";
export type { InternalRaftConfig, PlantedBugs } from "./planted-bugs.js";
