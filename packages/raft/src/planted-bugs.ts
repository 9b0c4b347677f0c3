// Deliberate bugs that tests switch on to prove the simulator's checkers catch them. Reachable only
// through @dlock/raft/internal: the public RaftConfig has no field for them, and the key that
// carries them on a config object is a symbol only this module (and so the internal entry) holds.
import type { RaftConfig } from "./config.js";

/** Every flag defaults to false; never set in production. */
export interface PlantedBugs {
  /** Commit an entry of an earlier term by counting replicas (Raft paper Figure 8). */
  commitPreviousTermByCounting?: boolean;
  /** Grant votes without the candidate's-log-is-up-to-date check. */
  voteWithoutLogCheck?: boolean;
  /** Count the leader's own entries (and answer appends) before they are durable. */
  acknowledgeBeforePersist?: boolean;
}

/** A symbol, not a string: a public caller cannot set it by accident or by a JSON config. */
const plantedBugsKey = Symbol("dlock.raft.plantedBugs");

/** A RaftConfig that also carries planted bugs (object spreads keep the symbol-keyed field). */
export type InternalRaftConfig = RaftConfig & { [plantedBugsKey]?: PlantedBugs };

export const NO_PLANTED_BUGS: Readonly<Required<PlantedBugs>> = Object.freeze({
  commitPreviousTermByCounting: false,
  voteWithoutLogCheck: false,
  acknowledgeBeforePersist: false,
});

/**
 * A copy of config (whole or the part a host passes on) carrying bugs; hosts that spread their
 * options into RawNode's config keep them.
 */
export function withPlantedBugs<T extends Partial<RaftConfig>>(
  config: T,
  bugs: PlantedBugs | undefined,
): T & { [plantedBugsKey]?: PlantedBugs } {
  return bugs === undefined ? { ...config } : { ...config, [plantedBugsKey]: { ...bugs } };
}

/** The bugs a config carries, every flag filled in (all false for a public config). */
export function plantedBugsOf(config: object): Required<PlantedBugs> {
  const bugs = (config as InternalRaftConfig)[plantedBugsKey];
  if (bugs === undefined) return NO_PLANTED_BUGS;
  return {
    commitPreviousTermByCounting: bugs.commitPreviousTermByCounting ?? false,
    voteWithoutLogCheck: bugs.voteWithoutLogCheck ?? false,
    acknowledgeBeforePersist: bugs.acknowledgeBeforePersist ?? false,
  };
}
