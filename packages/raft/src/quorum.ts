import type { NodeId } from "./types.js";

/** Votes needed for a majority of `voterCount` voters. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters has matched: the quorum-th largest match index.
 * `scratch` is a caller-owned array reused across calls so the hot path does not allocate.
 * Learners are never passed in: they do not count.
 */
export function committedIndex(
  voters: readonly NodeId[],
  matchOf: (id: NodeId) => number,
  scratch: number[],
): number {
  const n = voters.length;
  if (n === 0) return 0;
  scratch.length = n;
  for (let i = 0; i < n; i++) scratch[i] = matchOf(voters[i]!);
  // Insertion sort, descending: n is a handful of voters.
  for (let i = 1; i < n; i++) {
    const value = scratch[i]!;
    let j = i - 1;
    while (j >= 0 && scratch[j]! < value) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = value;
  }
  return scratch[quorumSize(n) - 1]!;
}

export type VoteResult = "won" | "lost" | "pending";

/** Tallies granted/rejected votes of voters only; votes from non-voters are ignored. */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const q = quorumSize(voters.length);
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  if (granted >= q) return "won";
  if (granted + missing >= q) return "pending";
  return "lost";
}

/** True when the members in `yes` (a set of ids) include a majority of voters. */
export function hasQuorum(voters: readonly NodeId[], yes: (id: NodeId) => boolean): boolean {
  let count = 0;
  for (const id of voters) if (yes(id)) count++;
  return count >= quorumSize(voters.length);
}
