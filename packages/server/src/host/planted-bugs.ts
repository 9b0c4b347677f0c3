// Host bugs planted on purpose, so the simulator can show that it finds them (see
// ../planted-bugs.ts): set through withHostPlantedBugs from @dlock/server/internal.
import { plantedBugChannel } from "../planted-bugs.js";
import type { PlantedBugsOf } from "../planted-bugs.js";

const hostBugs = plantedBugChannel("dlock.hostPlantedBugs", {
  /**
   * While the leader streams a snapshot to a follower, it compacts at every apply (to hand the
   * follower "the newest state"): each new snapshot restarts the transfer from its first byte,
   * so under steady writes a follower that needs a snapshot never catches up.
   */
  compactWhileSendingSnapshot: true,
});

export type HostPlantedBugs = PlantedBugsOf<typeof hostBugs>;

/** RaftHost options carrying planted bugs (a symbol key: invisible to the options type). */
export const withHostPlantedBugs = hostBugs.with;
export const hostPlantedBugsOf = hostBugs.of;
