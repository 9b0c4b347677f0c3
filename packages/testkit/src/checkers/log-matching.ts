import type { ChainedEntry } from "../log-chain.js";
import { SafetyViolation } from "./violation.js";

const TERM_LIMIT = 1_000_000;

/**
 * Log Matching: if two logs contain an entry with the same index and term, the logs are identical
 * in all entries up through that index (Raft §5.3). Every stored entry carries the chain hash of
 * its log prefix, so the property is: one (index, term) never appears with two chain values, on
 * any node, at any time. The registry it builds also answers "what prefix does (index, term)
 * stand for", which snapshots need.
 */
export class LogMatchingChecker {
  private readonly chains = new Map<number, number>();

  /** Entries `node` just wrote to its log. */
  observeEntries(node: string, entries: readonly ChainedEntry[]): void {
    for (const { entry, chain } of entries) {
      const key = keyOf(entry.index, entry.term);
      const known = this.chains.get(key);
      if (known === undefined) this.chains.set(key, chain);
      else if (known !== chain) {
        throw new SafetyViolation(
          "logMatching",
          `${node} holds entry (index ${entry.index}, term ${entry.term}) after a log prefix ` +
            `that differs from another node's with the same entry`,
        );
      }
    }
  }

  /** Chain of the prefix ending at (index, term), as first seen on any node. */
  chainOf(index: number, term: number): number | undefined {
    if (index === 0) return 0;
    return this.chains.get(keyOf(index, term));
  }

  /**
   * `node` installs a snapshot ending at (index, term): that entry must have existed on some node.
   * Returns its chain.
   */
  observeSnapshot(node: string, index: number, term: number): number {
    const chain = this.chainOf(index, term);
    if (chain === undefined) {
      throw new SafetyViolation(
        "logMatching",
        `${node} received a snapshot at (index ${index}, term ${term}), an entry no log ever held`,
      );
    }
    return chain;
  }
}

function keyOf(index: number, term: number): number {
  if (term >= TERM_LIMIT) throw new RangeError(`term ${term} beyond the checker's limit`);
  return index * TERM_LIMIT + term;
}
