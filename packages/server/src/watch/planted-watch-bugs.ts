// Deliberate watch bugs that the simulator's tests switch on to prove the watch checker catches
// them. Reachable only through @dlock/server/internal (a symbol key on the options object).
import type { WatchServiceOptions } from "./watch-service.js";

/** Every flag defaults to false. Never set in production. */
export interface PlantedWatchBugs {
  /** A page cut at eventsMax may end inside a revision, and says that revision is complete. */
  splitsRevision?: boolean;
  /** An answer says it is complete one revision short, so the next poll repeats that revision. */
  coversOneShort?: boolean;
}

const plantedWatchBugsKey = Symbol("dlock.server.plantedWatchBugs");

export function withPlantedWatchBugs<T extends WatchServiceOptions>(
  options: T,
  bugs: PlantedWatchBugs | undefined,
): T {
  return bugs === undefined ? { ...options } : { ...options, [plantedWatchBugsKey]: { ...bugs } };
}

export function plantedWatchBugsOf(options: WatchServiceOptions): Required<PlantedWatchBugs> {
  const bugs = (options as { [plantedWatchBugsKey]?: PlantedWatchBugs })[plantedWatchBugsKey];
  return {
    splitsRevision: bugs?.splitsRevision === true,
    coversOneShort: bugs?.coversOneShort === true,
  };
}
