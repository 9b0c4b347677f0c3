// Deliberate bugs of the lock service for the simulator to find, reachable only through
// @dlock/server/internal (a symbol-keyed field the public LockServiceOptions does not have).
import type { LockServiceOptions } from "./lock-service.js";

/** Every flag defaults to false. Never set in production. */
export interface LockServicePlantedBugs {
  /** Serve `get` from the local table without ReadIndex (a stale leader answers stale reads). */
  readWithoutReadIndex?: boolean;
  /**
   * End a waiter's wait at this node's apply of its granting entry, not at the entry's proposal:
   * a late apply stretches the client's validity past a later leader's lease (seed 1049109017).
   */
  waitEndsAtApply?: boolean;
}

const plantedServiceBugsKey = Symbol("dlock.server.plantedServiceBugs");

/** A copy of the options carrying bugs. */
export function withPlantedServiceBugs<T extends LockServiceOptions>(
  options: T,
  bugs: LockServicePlantedBugs | undefined,
): T & { [plantedServiceBugsKey]?: LockServicePlantedBugs } {
  return bugs === undefined ? { ...options } : { ...options, [plantedServiceBugsKey]: { ...bugs } };
}

/** The bugs the options carry, every flag filled in (all false for public options). */
export function plantedServiceBugsOf(
  options: LockServiceOptions,
): Required<LockServicePlantedBugs> {
  const bugs = (options as { [plantedServiceBugsKey]?: LockServicePlantedBugs })[
    plantedServiceBugsKey
  ];
  return {
    readWithoutReadIndex: bugs?.readWithoutReadIndex === true,
    waitEndsAtApply: bugs?.waitEndsAtApply === true,
  };
}
