// Deliberate watch bugs that the simulator's tests switch on to prove the watch checker catches
// them (see ../planted-bugs.ts).
import { plantedBugChannel } from "../planted-bugs.js";
import type { PlantedBugsOf } from "../planted-bugs.js";

export const plantedWatchBugs = plantedBugChannel("dlock.server.plantedWatchBugs", {
  /** A page cut at eventsMax may end inside a revision, and says that revision is complete. */
  splitsRevision: true,
  /** An answer says it is complete one revision short, so the next poll repeats that revision. */
  coversOneShort: true,
});

export type PlantedWatchBugs = PlantedBugsOf<typeof plantedWatchBugs>;

export const withPlantedWatchBugs = plantedWatchBugs.with;
