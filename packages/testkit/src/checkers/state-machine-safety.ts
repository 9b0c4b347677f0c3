import { SafetyViolation } from "./violation.js";

/**
 * State Machine Safety: if a server has applied a log entry at a given index, no other server
 * ever applies a different entry for that index (Raft §5.4.3). Entry identity is checked by the
 * CommitLedger when entries are reported committed; this checker compares what applying did: the
 * application's digest after applying index i (or restoring a snapshot at i) must be the same on
 * every node, so a wrong snapshot, a skipped entry or a re-applied one shows up too.
 */
export class StateMachineSafetyChecker {
  private readonly digests = new Map<number, number>();
  private appliedEntries = 0;

  observeApplied(node: string, index: number, digest: number): void {
    this.appliedEntries++;
    const known = this.digests.get(index);
    if (known === undefined) this.digests.set(index, digest);
    else if (known !== digest) {
      throw new SafetyViolation(
        "stateMachineSafety",
        `${node}'s state after applying index ${index} differs from another node's`,
      );
    }
  }

  /** How many (node, index) applications were compared. */
  get observed(): number {
    return this.appliedEntries;
  }
}
