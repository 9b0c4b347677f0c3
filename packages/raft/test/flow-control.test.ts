import { describe, expect, it } from "vitest";
import { Inflights } from "../src/inflights.js";
import { Progress } from "../src/progress.js";
import { committedIndex, voteResult } from "../src/quorum.js";

describe("Inflights", () => {
  it("is full by message count or by bytes and frees acknowledged messages", () => {
    const inflights = new Inflights(3, 1000);
    inflights.add(5, 100);
    inflights.add(9, 100);
    expect(inflights.full()).toBe(false);
    inflights.add(12, 100);
    expect(inflights.full()).toBe(true);
    inflights.freeLE(9);
    expect(inflights.size()).toBe(1);
    expect(inflights.inflightBytes()).toBe(100);
    inflights.add(20, 900);
    expect(inflights.full()).toBe(true);
    inflights.freeLE(20);
    expect(inflights.size()).toBe(0);
    expect(() => {
      const small = new Inflights(1, 10);
      small.add(1, 1);
      small.add(2, 1);
    }).toThrow(/full/);
  });
});

describe("Progress", () => {
  it("probe sends one message at a time", () => {
    const pr = new Progress(5, false, 10, 1000);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(3, 7, 30);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5);
  });

  it("replicate pipelines and falls back to match+1 on rejection", () => {
    const pr = new Progress(5, false, 10, 1000);
    pr.maybeUpdate(4);
    pr.becomeReplicate();
    pr.sentEntries(3, 7, 30);
    pr.sentEntries(3, 10, 30);
    expect(pr.next).toBe(11);
    expect(pr.maybeDecrTo(3, 0)).toBe(false); // stale: at or below match
    expect(pr.maybeDecrTo(8, 6)).toBe(true);
    expect(pr.next).toBe(5);
  });

  it("probe uses the follower's hint but never goes below match+1", () => {
    const pr = new Progress(20, false, 10, 1000);
    pr.maybeUpdate(3);
    pr.next = 20;
    expect(pr.maybeDecrTo(18, 10)).toBe(false); // not the outstanding probe
    expect(pr.maybeDecrTo(19, 10)).toBe(true);
    expect(pr.next).toBe(11);
    pr.next = 11;
    expect(pr.maybeDecrTo(10, 0)).toBe(true);
    expect(pr.next).toBe(4);
  });

  it("counts stalled ticks only while a probe or a window waits for an acknowledgement", () => {
    const pr = new Progress(5, false, 10, 1000);
    pr.tickStalled();
    expect(pr.stalledTicks).toBe(0); // nothing sent yet
    pr.sentEntries(3, 7, 30);
    pr.tickStalled();
    pr.tickStalled();
    expect(pr.stalledTicks).toBe(2);
    pr.maybeUpdate(7); // the probe's answer
    expect(pr.stalledTicks).toBe(0);
    pr.becomeReplicate();
    pr.sentEntries(2, 9, 20);
    pr.tickStalled();
    expect(pr.stalledTicks).toBe(1);
    pr.maybeUpdate(9);
    pr.inflights.freeLE(9);
    pr.tickStalled();
    expect(pr.stalledTicks).toBe(0); // the window is empty
  });

  it("after a snapshot, probing resumes right after the snapshot", () => {
    const pr = new Progress(1, false, 10, 1000);
    pr.becomeSnapshot(50);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(51);
  });
});

describe("quorum", () => {
  it("commits the index a majority of voters has", () => {
    const match: Record<string, number> = { a: 9, b: 5, c: 7, d: 2, e: 7 };
    expect(committedIndex(["a", "b", "c"], (id) => match[id], [])).toBe(7);
    expect(committedIndex(["a", "b", "c", "d"], (id) => match[id], [])).toBe(5);
    expect(committedIndex(["a", "b", "c", "d", "e"], (id) => match[id], [])).toBe(7);
    expect(committedIndex(["a"], (id) => match[id], [])).toBe(9);
  });

  it("tallies votes of voters only", () => {
    const votes = new Map([
      ["a", true],
      ["x", true],
      ["y", true],
    ]);
    expect(voteResult(["a", "b", "c"], votes)).toBe("pending");
    votes.set("b", true);
    expect(voteResult(["a", "b", "c"], votes)).toBe("won");
    expect(
      voteResult(
        ["a", "b", "c"],
        new Map([
          ["b", false],
          ["c", false],
        ]),
      ),
    ).toBe("lost");
  });
});
