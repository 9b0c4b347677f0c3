import type { ConfChange, ConfState } from "@dlock/raft";
import type { ChainedEntry } from "../log-chain.js";
import type { LogView } from "./violation.js";
import { SafetyViolation } from "./violation.js";

/**
 * Everything any node ever reported committed: the chain hash at each committed index, and the
 * membership that the committed prefix defines. It is the reference the other checkers compare
 * against; a second, different entry reported committed at an index is a State Machine Safety
 * violation detected right here.
 */
export class CommitLedger {
  private readonly chains: number[] = [0];
  /**
   * Per index, the lowest term of a node that reported it committed: the entry was committed in
   * that term or earlier (a node learns a commit only from a leader of its term or an older one).
   */
  private readonly reportTerms: number[] = [0];
  private conf: ConfState;

  constructor(bootstrap: ConfState) {
    this.conf = { voters: bootstrap.voters.slice(), learners: bootstrap.learners.slice() };
  }

  /** Highest index anyone reported committed (0 if none). */
  get maxIndex(): number {
    return this.chains.length - 1;
  }

  chainAt(index: number): number | undefined {
    return this.chains[index];
  }

  /** Membership as of the highest committed index. */
  committedConf(): ConfState {
    return this.conf;
  }

  /**
   * The highest index known to have been committed in a term before `term`: every leader of
   * `term` must hold the committed prefix through it (an entry committed in a later term need
   * not be in the log of an older term's leader, which may still win a stale election).
   */
  committedBeforeTerm(term: number): number {
    for (let index = this.reportTerms.length - 1; index > 0; index--) {
      if (this.reportTerms[index]! < term) return index; // 0 < index < length
    }
    return 0;
  }

  /** `node`, in `term`, reports `entries` committed (consecutive, in index order). */
  observeCommitted(node: string, term: number, entries: readonly ChainedEntry[]): void {
    for (const { entry, chain } of entries) {
      const index = entry.index;
      if (index < this.chains.length) {
        // reportTerms has one term per chain (pushed together below).
        if (term < this.reportTerms[index]!) this.reportTerms[index] = term;
        if (this.chains[index] !== chain) {
          throw new SafetyViolation(
            "stateMachineSafety",
            `${node} reports a different entry committed at index ${index} (term ${entry.term}) ` +
              `than another node did`,
          );
        }
        continue;
      }
      if (index !== this.chains.length) {
        throw new SafetyViolation(
          "coreContract",
          `${node} reports index ${index} committed before index ${this.chains.length} was`,
        );
      }
      this.chains.push(chain);
      this.reportTerms.push(term);
      if (entry.kind === "config" && entry.change) this.conf = applyChange(this.conf, entry.change);
    }
  }

  /**
   * Whether `log` holds the committed prefix through `index`: its chain there matches, or its
   * snapshot lies at or beyond `index` and is itself a committed prefix.
   */
  holdsPrefix(log: LogView, index: number): boolean {
    if (index === 0) return true;
    const snapshotIndex = log.snapshotIndex();
    if (snapshotIndex >= index) {
      const expected = this.chains[snapshotIndex];
      return expected !== undefined && expected === log.chainAt(snapshotIndex);
    }
    return log.chainAt(index) === this.chains[index];
  }
}

/** Membership after one change (each change sets its member's state absolutely). */
export function applyChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  if (change.type === "addLearner") learners.push(change.nodeId);
  else if (change.type === "promote") voters.push(change.nodeId);
  return { voters, learners };
}
