/**
 * Host bugs planted on purpose, so the simulator can show that it finds them. Test-only: set
 * through withHostPlantedBugs from @dlock/server/internal; no public type mentions them.
 */
export interface HostPlantedBugs {
  /**
   * While the leader streams a snapshot to a follower, it compacts at every apply (to hand the
   * follower "the newest state"): each new snapshot restarts the transfer from its first byte,
   * so under steady writes a follower that needs a snapshot never catches up.
   */
  compactWhileSendingSnapshot?: boolean;
}

const HOST_PLANTED_BUGS: unique symbol = Symbol("dlock.hostPlantedBugs");

/** RaftHost options carrying planted bugs (a symbol key: invisible to the options type). */
export function withHostPlantedBugs<T extends object>(options: T, bugs: HostPlantedBugs): T {
  return { ...options, [HOST_PLANTED_BUGS]: { ...bugs } };
}

export function hostPlantedBugsOf(options: object): HostPlantedBugs {
  return (options as { [HOST_PLANTED_BUGS]?: HostPlantedBugs })[HOST_PLANTED_BUGS] ?? {};
}
