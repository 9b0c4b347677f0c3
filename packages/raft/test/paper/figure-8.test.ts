// Raft paper §5.4.2 and Figure 8: a leader cannot conclude that an entry of an earlier term is
// committed because a majority stores it; only entries of its own term are committed by counting.
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/index.js";
import { Network, storageWithLog } from "../helpers/network.js";

const ids = ["s1", "s2", "s3", "s4", "s5"];

/**
 * (a)–(c): s1 led term 2 and wrote index 2 only to itself; s5 led term 3 and wrote a different
 * index 2 only to itself. Now s1 leads term 4 and replicates its term-2 entry to s2 and s3 (a
 * majority), but its term-4 no-op does not get through. Index 2 is big, so it travels alone.
 */
function figure8(commitPreviousTermByCounting: boolean) {
  const net = new Network(ids);
  const config = {
    messageBytesMax: 50,
    random: () => 0.99,
    plantedBugs: { commitPreviousTermByCounting },
  };
  const big = (index: number) => (index === 2 ? 100 : 1);
  net.start("s1", storageWithLog(ids, [1, 2], { term: 3 }, big), config);
  for (const id of ["s2", "s3", "s4"]) net.start(id, storageWithLog(ids, [1], { term: 3 }), config);
  net.start("s5", storageWithLog(ids, [1, 3], { term: 4 }, big), config);
  net.isolate("s4");
  net.isolate("s5");
  // The no-op is cut off every append, as if each batch had ended just before it: the followers
  // still answer, acknowledging index 2 at most.
  const withoutNoop = (m: Message): Message =>
    m.type === "append" && m.entries.some((e) => e.index >= 3)
      ? { ...m, entries: m.entries.filter((e) => e.index < 3) }
      : m;
  // And s1 crashes the moment it believes index 2 committed, before telling anyone.
  const untilS1Commits = (m: Message): boolean =>
    !(m.from === "s1" && (m.type === "append" || m.type === "heartbeat") && m.commit >= 2);
  net.get("s1").node.campaign();
  net.stabilize(untilS1Commits, withoutNoop);
  net.tickAll(3, untilS1Commits, withoutNoop);
  expect(net.get("s1").node.status()).toMatchObject({ role: "leader", term: 4 });
  expect(net.logTerms("s2")).toEqual([1, 2]);
  expect(net.logTerms("s3")).toEqual([1, 2]);
  return net;
}

/** (d): s1 crashes; s5 (last term 3) wins term 5 with s2, s3, s4 and overwrites index 2. */
function s5TakesOver(net: Network): void {
  net.heal();
  net.isolate("s1");
  for (const id of ["s2", "s3", "s4"]) net.tick(id, 10); // out of s1's lease, before their own timeouts
  net.get("s5").node.campaign();
  net.stabilize();
  net.tickAll(3);
  expect(net.get("s5").node.status()).toMatchObject({ role: "leader", term: 5 });
}

describe("Figure 8", () => {
  it("the term-4 leader does not commit the term-2 entry a majority stores", () => {
    const net = figure8(false);
    expect(net.get("s1").node.status().commit).toBe(0);
    s5TakesOver(net);
    // Index 2 is overwritten with s5's term-3 entry, and that is what everyone applies: safe,
    // because nobody ever reported the term-2 entry committed.
    for (const id of ["s2", "s3", "s4", "s5"]) {
      expect(net.get(id).applied.find((e) => e.index === 2)?.term, id).toBe(3);
    }
    expect(net.get("s1").applied.some((e) => e.index === 2)).toBe(false);
  });

  it("planted bug commitPreviousTermByCounting: s1 commits it, and (d) then loses a committed entry", () => {
    const net = figure8(true);
    expect(net.get("s1").node.status().commit).toBe(2);
    expect(net.get("s1").applied.find((e) => e.index === 2)?.term).toBe(2);
    s5TakesOver(net);
    // State machine safety is violated: s1 applied (2, term 2), the others (2, term 3).
    expect(net.get("s2").applied.find((e) => e.index === 2)?.term).toBe(3);
  });

  it("(e): once s1 commits an entry of its own term, s5 can no longer be elected", () => {
    const net = figure8(false);
    net.tickAll(3); // the no-op now gets through to s2 and s3
    expect(net.get("s1").node.status().commit).toBe(3);
    net.heal();
    net.isolate("s1");
    for (const id of ["s2", "s3", "s4"]) net.tick(id, 10);
    net.get("s5").node.campaign();
    net.stabilize();
    expect(net.get("s5").node.status().role).not.toBe("leader");
    net.tickAll(40);
    const leader = net.leader()!;
    expect(["s2", "s3"]).toContain(leader);
    expect(net.get(leader).applied.find((e) => e.index === 2)?.term).toBe(2);
  });
});
