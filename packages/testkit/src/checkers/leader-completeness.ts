import type { CommitLedger } from "./commit-ledger.js";
import type { LogView } from "./violation.js";
import { SafetyViolation } from "./violation.js";

/** A node that currently believes it leads. */
export interface LeaderLog {
  node: string;
  term: number;
  log: LogView;
}

/**
 * Leader Completeness: if an entry is committed in a given term, it is present in the logs of the
 * leaders of all higher terms (Raft §5.4). Checked when a node becomes leader of term T (it must
 * hold every entry known to have been committed in a term before T; a stale candidate may still
 * win an older term, without entries committed later) and whenever an entry is reported committed (every current
 * leader of a term above the reporter's must already hold it: the reporter learned the commit in
 * its own term or an earlier one, whose entries all later leaders hold).
 */
export class LeaderCompletenessChecker {
  constructor(private readonly ledger: CommitLedger) {}

  observeLeader(leader: LeaderLog): void {
    const index = this.ledger.committedBeforeTerm(leader.term);
    if (!this.ledger.holdsPrefix(leader.log, index)) {
      throw new SafetyViolation(
        "leaderCompleteness",
        `${leader.node} became leader of term ${leader.term} without the log through index ${index}, ` +
          `committed in an earlier term`,
      );
    }
  }

  /** `reporter`, in `reporterTerm`, reported entries through `index` committed. */
  observeCommit(
    reporter: string,
    reporterTerm: number,
    index: number,
    leaders: readonly LeaderLog[],
  ): void {
    for (const leader of leaders) {
      if (leader.term <= reporterTerm) continue;
      if (!this.ledger.holdsPrefix(leader.log, index)) {
        throw new SafetyViolation(
          "leaderCompleteness",
          `${reporter} (term ${reporterTerm}) reports index ${index} committed, but ` +
            `${leader.node}, leader of the later term ${leader.term}, does not hold it`,
        );
      }
    }
  }
}
