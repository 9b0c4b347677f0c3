import { describe, expect, it } from "vitest";
import { CommitDurabilityChecker } from "../../src/checkers/commit-durability.js";
import { CommitLedger } from "../../src/checkers/commit-ledger.js";
import type { LogView } from "../../src/checkers/violation.js";
import { makeLog, viewOf } from "./helpers.js";

function setup(voters: string[]) {
  const ledger = new CommitLedger({ voters, learners: [] });
  const checker = new CommitDurabilityChecker(ledger);
  return { ledger, checker };
}

describe("CommitDurabilityChecker", () => {
  const log = makeLog([1, 1, 1]);

  it("accepts a commit durable on a majority of 3", () => {
    const { ledger, checker } = setup(["n1", "n2", "n3"]);
    ledger.observeCommitted("n1", 1, log);
    const disks: Record<string, LogView> = {
      n1: viewOf(log),
      n2: viewOf(log),
      n3: viewOf(log.slice(0, 1)),
    };
    checker.check((node) => disks[node]);
  });

  it("reports a commit durable on only one of 3 (acknowledged before persisting)", () => {
    const { ledger, checker } = setup(["n1", "n2", "n3"]);
    ledger.observeCommitted("n1", 1, log);
    const disks: Record<string, LogView> = {
      n1: viewOf(log),
      n2: viewOf(log.slice(0, 2)),
      n3: viewOf([]),
    };
    expect(() => checker.check((node) => disks[node])).toThrow(
      /commitDurability: index 3 is reported committed but durable only on \[n1\]/,
    );
  });

  it("counts snapshots that cover the index, and needs 3 of 5", () => {
    const { ledger, checker } = setup(["n1", "n2", "n3", "n4", "n5"]);
    ledger.observeCommitted("n1", 1, log);
    const disks: Record<string, LogView> = {
      n1: viewOf(log),
      n2: viewOf(log, 3),
      n3: viewOf(log.slice(0, 2)),
    };
    expect(() => checker.check((node) => disks[node])).toThrow(/needs 3 durable holders/);
    disks.n4 = viewOf(log, 2);
    checker.check((node) => disks[node]);
  });
});
