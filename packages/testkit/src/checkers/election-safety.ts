import { SafetyViolation } from "./violation.js";

/** Election Safety: at most one leader can be elected in a given term (Raft §5.2). */
export class ElectionSafetyChecker {
  private readonly leaderByTerm = new Map<number, string>();

  /** Node `node` is leader in `term`. Throws if another node was leader in that term. */
  observeLeader(node: string, term: number): void {
    const known = this.leaderByTerm.get(term);
    if (known === undefined) {
      this.leaderByTerm.set(term, node);
      return;
    }
    if (known !== node) {
      throw new SafetyViolation(
        "electionSafety",
        `two leaders in term ${term}: ${known} and ${node}`,
      );
    }
  }

  /** Number of terms that had a leader (elections won). */
  get elections(): number {
    return this.leaderByTerm.size;
  }
}
