// Deliberate bugs of the lock service for the simulator to find (see ../planted-bugs.ts).
import { plantedBugChannel } from "../planted-bugs.js";
import type { PlantedBugsOf } from "../planted-bugs.js";

export const plantedServiceBugs = plantedBugChannel("dlock.server.plantedServiceBugs", {
  /** Serve `get` from the local table without ReadIndex (a stale leader answers stale reads). */
  readWithoutReadIndex: true,
  /**
   * End a waiter's wait at this node's apply of its granting entry, not at the entry's proposal:
   * a late apply stretches the client's validity past a later leader's lease (seed 1049109017).
   */
  waitEndsAtApply: true,
});

export type LockServicePlantedBugs = PlantedBugsOf<typeof plantedServiceBugs>;

/** A copy of the options carrying bugs. */
export const withPlantedServiceBugs = plantedServiceBugs.with;
