import type { Entry } from "@dlock/raft";
import { Hasher } from "./hash.js";

// Every stored entry carries a chain hash: a digest of the entry and of the chain before it. Two
// logs agree on all entries up to index i exactly when their chains at i are equal, which turns
// Log Matching and Leader Completeness into O(1) comparisons instead of log scans.

/** Chain value "before index 1" (and of an empty log). */
export const CHAIN_ORIGIN = 0;

const KIND_CODE = { normal: 1, noop: 2, config: 3 } as const;
const CHANGE_CODE = { addLearner: 1, promote: 2, remove: 3 } as const;

/** Digest of one entry's identity and content (not of its predecessors). */
export function entryDigest(entry: Entry): number {
  const hasher = new Hasher(0x51);
  hasher
    .int(entry.index)
    .int(entry.term)
    .int(KIND_CODE[entry.kind] ?? 0);
  hasher.bytes(entry.data);
  if (entry.change) {
    hasher.int(CHANGE_CODE[entry.change.type] ?? 0).string(entry.change.nodeId);
  }
  return hasher.digest();
}

export function chainAfter(previousChain: number, entry: Entry): number {
  return new Hasher(0x52).int(previousChain).int(entryDigest(entry)).digest();
}

/** An entry as the simulated storage keeps it. */
export interface ChainedEntry {
  readonly entry: Entry;
  readonly chain: number;
}
