// How a new cluster starts: its founding members are the first entries of the log, not a
// configuration stored beside it. Every founder writes the same entries (one config entry per
// voter, sorted by id, with its peer address, all in term 1 and committed), so a node that joins
// later and replays the log from index 1 learns who the founders are, as does one restored from a
// snapshot (which carries the members). Without this a joiner that caught up from the log would
// start from an empty configuration and, once promoted, believe it is the only voter.
//
// Every founder must be started with the same --cluster list: the entries must be identical on
// all of them (Raft assumes the same index and term means the same entry).
import type { Entry, NodeId } from "@dlock/raft";
import { encodeMemberContext } from "../host/cluster-members.js";
import type { LevelStorage } from "../storage/level-storage.js";

/** Term of the founding entries (elections start after it). */
export const BOOTSTRAP_TERM = 1;

/** The founding entries for `peers` (id → peer address). */
export function bootstrapEntries(peers: Readonly<Record<NodeId, string>>): Entry[] {
  // In code-unit order of the ids (unique), as sort() without a comparator orders them: every
  // founder, of any version, must write the same entries.
  const byId = Object.entries(peers).sort(([a], [b]) => (a < b ? -1 : 1));
  return byId.map(([id, peerAddress], i): Entry => ({
    index: i + 1,
    term: BOOTSTRAP_TERM,
    kind: "config",
    data: new Uint8Array(0),
    change: {
      type: "promote",
      nodeId: id,
      context: encodeMemberContext({ peerAddress }),
    },
  }));
}

/**
 * Writes the founding entries into a data folder that has nothing yet (a fresh founder, or one
 * whose first start stopped before it wrote them). A joining node writes nothing: it learns the
 * log from the leader. Returns whether it wrote them.
 */
export async function bootstrapIfNew(
  storage: LevelStorage,
  options: { join: boolean; peers: Readonly<Record<NodeId, string>> },
): Promise<boolean> {
  const members = storage.appliedMembers();
  const empty =
    storage.lastIndex() === 0 &&
    storage.snapshot().metadata.index === 0 &&
    members.voters.length + members.learners.length === 0;
  if (!empty || options.join) return false;
  const entries = bootstrapEntries(options.peers);
  await storage.write([
    {
      entries,
      hardState: { term: BOOTSTRAP_TERM, vote: null, commit: entries.length },
      mustSync: true,
    },
  ]);
  return true;
}
