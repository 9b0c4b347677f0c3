import type { NodeId, Status } from "@dlock/raft";

/**
 * Nodes a leader's Raft core still replicates to that are no longer in its configuration: voters
 * being removed, which it heartbeats until they confirm their removal committed (departures in
 * @dlock/raft). The peer transport must keep reaching them (and taking their answers) until then,
 * though the applied members no longer list them. Sorted; empty on a node that does not lead.
 */
export function departingPeersOf(status: Status): NodeId[] {
  if (status.progress === undefined) return [];
  const { voters, learners } = status.confState;
  return Object.keys(status.progress)
    .filter((id) => id !== status.id && !voters.includes(id) && !learners.includes(id))
    .sort();
}

export function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
