import { describe, expect, it } from "vitest";
import { CommitLedger } from "../../src/checkers/commit-ledger.js";
import { LeaderCompletenessChecker } from "../../src/checkers/leader-completeness.js";
import { makeLog, viewOf } from "./helpers.js";

const conf = { voters: ["n1", "n2", "n3"], learners: [] };

describe("LeaderCompletenessChecker", () => {
  it("accepts a new leader that holds everything committed in earlier terms", () => {
    const ledger = new CommitLedger(conf);
    const checker = new LeaderCompletenessChecker(ledger);
    const log = makeLog([1, 1, 2]);
    ledger.observeCommitted("n1", 2, log);
    checker.observeLeader({ node: "n2", term: 3, log: viewOf(makeLog([1, 1, 2, 3])) });
  });

  it("reports a leader of a later term missing a committed entry (Figure 8's outcome)", () => {
    const ledger = new CommitLedger(conf);
    const checker = new LeaderCompletenessChecker(ledger);
    ledger.observeCommitted("n1", 4, makeLog([1, 2]));
    expect(() =>
      checker.observeLeader({ node: "n5", term: 5, log: viewOf(makeLog([1, 3], "n5")) }),
    ).toThrow(/leaderCompleteness: n5 became leader of term 5/);
  });

  it("does not require a stale term's leader to hold what a later term committed", () => {
    const ledger = new CommitLedger(conf);
    const checker = new LeaderCompletenessChecker(ledger);
    ledger.observeCommitted("n1", 6, makeLog([1, 6]));
    checker.observeLeader({ node: "n3", term: 5, log: viewOf(makeLog([1])) });
  });

  it("checks current leaders of later terms when a commit is reported", () => {
    const ledger = new CommitLedger(conf);
    const checker = new LeaderCompletenessChecker(ledger);
    ledger.observeCommitted("n1", 2, makeLog([1, 2]));
    const stale = { node: "n2", term: 2, log: viewOf(makeLog([1])) };
    const newer = { node: "n3", term: 3, log: viewOf(makeLog([1])) };
    checker.observeCommit("n1", 2, 2, [stale]);
    // A stale node reporting an older index only answers for that index.
    checker.observeCommit("n2", 1, 1, [stale, newer]);
    expect(() => checker.observeCommit("n1", 2, 2, [stale, newer])).toThrow(
      /n3, leader of the later term 3, does not hold it/,
    );
  });
});
