import type { CommitLedger } from "./commit-ledger.js";
import type { LogView } from "./violation.js";
import { SafetyViolation } from "./violation.js";

/**
 * Commit durability: nothing reported committed may ever be lost, whatever crashes follow. A
 * committed entry survives any crashes exactly when the voters holding it *durably* (synced, on
 * the disk a crash leaves behind) meet every quorum of the membership, so that every possible
 * future leader's voters include one that will refuse a candidate without it. Checked when
 * commits are reported and after every crash or sync, on the highest committed index (holding
 * it implies holding everything before it, by the log chain).
 *
 * Membership is the committed one: with one-server changes, an entry durable on a quorum of
 * either of two adjacent configurations meets every quorum of the other as well.
 */
export class CommitDurabilityChecker {
  constructor(private readonly ledger: CommitLedger) {}

  check(durableLogOf: (node: string) => LogView | undefined): void {
    const index = this.ledger.maxIndex;
    if (index === 0) return;
    const voters = this.ledger.committedConf().voters;
    const quorum = Math.floor(voters.length / 2) + 1;
    const needed = voters.length - quorum + 1;
    // Counted, not listed: this runs after every commit, sync and crash; the names only for a
    // violation.
    let holderCount = 0;
    for (const voter of voters) if (this.holds(durableLogOf, voter, index)) holderCount++;
    if (holderCount < needed) {
      const holders = voters.filter((voter) => this.holds(durableLogOf, voter, index));
      throw new SafetyViolation(
        "commitDurability",
        `index ${index} is reported committed but durable only on [${holders.join(", ")}] of ` +
          `voters [${voters.join(", ")}]: a crash of the others could lose it ` +
          `(needs ${needed} durable holders)`,
      );
    }
  }

  private holds(
    durableLogOf: (node: string) => LogView | undefined,
    voter: string,
    index: number,
  ): boolean {
    const log = durableLogOf(voter);
    return log !== undefined && this.ledger.holdsPrefix(log, index);
  }
}
