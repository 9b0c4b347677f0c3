import { describe, expect, it } from "vitest";
import { applyChange, CommitLedger } from "../../src/checkers/commit-ledger.js";
import { makeLog, viewOf } from "./helpers.js";

const conf = { voters: ["n1", "n2", "n3"], learners: [] };

describe("CommitLedger", () => {
  it("records the committed prefix and accepts repeated identical reports", () => {
    const ledger = new CommitLedger(conf);
    const log = makeLog([1, 1, 2]);
    ledger.observeCommitted("n1", 2, log.slice(0, 2));
    ledger.observeCommitted("n2", 2, log.slice(0, 3));
    expect(ledger.maxIndex).toBe(3);
    expect(ledger.chainAt(3)).toBe(log[2].chain);
  });

  it("reports a different entry committed at the same index (state machine safety)", () => {
    const ledger = new CommitLedger(conf);
    ledger.observeCommitted("n1", 1, makeLog([1, 1]));
    expect(() => ledger.observeCommitted("n2", 2, makeLog([1, 2], "y"))).toThrow(
      /stateMachineSafety: n2 reports a different entry committed at index 1/,
    );
  });

  it("reports a gap in what is committed", () => {
    const ledger = new CommitLedger(conf);
    expect(() => ledger.observeCommitted("n1", 1, makeLog([1, 1, 1]).slice(1))).toThrow(
      /coreContract/,
    );
  });

  it("knows which prefix a log holds, through its chain or a snapshot", () => {
    const ledger = new CommitLedger(conf);
    const log = makeLog([1, 1, 2, 2]);
    ledger.observeCommitted("n1", 2, log.slice(0, 3));
    expect(ledger.holdsPrefix(viewOf(log), 3)).toBe(true);
    expect(ledger.holdsPrefix(viewOf(log.slice(0, 2)), 3)).toBe(false);
    expect(ledger.holdsPrefix(viewOf(log, 3), 2)).toBe(true);
    expect(ledger.holdsPrefix(viewOf(makeLog([1, 1, 3], "z"), 3), 2)).toBe(false);
  });

  it("tells which entries were committed before a term", () => {
    const ledger = new CommitLedger(conf);
    const log = makeLog([1, 1, 2, 3, 3]);
    ledger.observeCommitted("n1", 1, log.slice(0, 2));
    ledger.observeCommitted("n2", 3, log.slice(0, 4));
    ledger.observeCommitted("n3", 2, log.slice(0, 3)); // learned index 3 in term 2
    expect(ledger.committedBeforeTerm(1)).toBe(0);
    expect(ledger.committedBeforeTerm(2)).toBe(2);
    expect(ledger.committedBeforeTerm(3)).toBe(3);
    expect(ledger.committedBeforeTerm(4)).toBe(4);
  });

  it("tracks committed membership changes", () => {
    expect(applyChange(conf, { type: "addLearner", nodeId: "n4" })).toEqual({
      voters: ["n1", "n2", "n3"],
      learners: ["n4"],
    });
    const ledger = new CommitLedger(conf);
    const log = makeLog([1]);
    const change = {
      entry: {
        index: 2,
        term: 1,
        kind: "config" as const,
        data: new Uint8Array(0),
        change: { type: "remove" as const, nodeId: "n2" },
      },
      chain: 99,
    };
    ledger.observeCommitted("n1", 1, [...log, change]);
    expect(ledger.committedConf()).toEqual({ voters: ["n1", "n3"], learners: [] });
  });
});
