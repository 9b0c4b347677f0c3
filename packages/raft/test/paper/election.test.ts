// Raft paper §5.2 (leader election) and thesis §9.6 (pre-vote), as scenarios.
import { describe, expect, it } from "vitest";
import { Network } from "../helpers/network.js";

describe("§5.2 leader election", () => {
  it("elects at most one leader per term, across many seeded runs", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Network(["s1", "s2", "s3", "s4", "s5"], { seed });
      const leaderOfTerm = new Map<number, string>();
      for (let round = 0; round < 60; round++) {
        // Random-ish loss so elections overlap.
        net.tickAll(1, (m) => (m.from.charCodeAt(1) + m.to.charCodeAt(1) + round) % 7 !== 0);
        for (const { id, term } of net.leaders()) {
          const known = leaderOfTerm.get(term);
          expect(known === undefined || known === id, `seed ${seed} term ${term}`).toBe(true);
          leaderOfTerm.set(term, id);
        }
      }
      expect(leaderOfTerm.size, `seed ${seed}`).toBeGreaterThan(0);
    }
  });

  it("a split vote elects nobody; randomized timeouts make a later term succeed", () => {
    const net = new Network(["s1", "s2", "s3", "s4"], { config: { preVote: false } });
    net.get("s1").node.campaign();
    net.get("s2").node.campaign();
    // s3 hears s1 first and s4 hears s2 first: two votes each, no majority of four.
    net.stabilize(
      (m) =>
        !(
          m.type === "vote" &&
          ((m.from === "s1" && m.to === "s4") || (m.from === "s2" && m.to === "s3"))
        ),
    );
    expect(net.leaders()).toEqual([]);
    const splitTerm = net.get("s1").node.status().term;
    net.tickAll(40);
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    expect(leaders[0].term).toBeGreaterThan(splitTerm);
  });

  it("pre-vote: a partitioned node that rejoins does not disrupt the leader's term", () => {
    const net = new Network(["s1", "s2", "s3"]);
    net.elect("s1");
    const term = net.get("s1").node.status().term;
    net.isolate("s3");
    net.tickAll(100);
    // While cut off, s3 only pre-campaigns: its term never moves.
    expect(net.get("s3").node.status().term).toBe(term);
    net.heal();
    net.tickAll(10);
    expect(net.leader()).toBe("s1");
    expect(net.get("s1").node.status().term).toBe(term);
    expect(net.get("s3").node.status().leader).toBe("s1");
  });

  it("without pre-vote, the same rejoining node forces a new election (what pre-vote prevents)", () => {
    const net = new Network(["s1", "s2", "s3"], { config: { preVote: false, checkQuorum: false } });
    net.elect("s1");
    const term = net.get("s1").node.status().term;
    net.isolate("s3");
    net.tickAll(100);
    expect(net.get("s3").node.status().term).toBeGreaterThan(term);
    net.heal();
    net.tickAll(30);
    expect(net.get("s1").node.status().term).toBeGreaterThan(term);
  });
});
