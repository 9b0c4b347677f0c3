// Raft paper §5.3 (log replication, Log Matching) and Figure 7.
import { describe, expect, it } from "vitest";
import { bytes, Network, storageWithLog } from "../helpers/network.js";

describe("§5.3 log replication", () => {
  it("the leader appends the command, replicates it, and applies it once a majority stores it", () => {
    const net = new Network(["s1", "s2", "s3", "s4", "s5"]);
    net.elect("s1");
    net.isolate("s4");
    net.isolate("s5");
    const index = net.propose("s1", "x");
    // Three of five hold it: committed and applied on those, not on the cut-off two.
    for (const id of ["s1", "s2", "s3"]) expect(net.appliedData(id)).toEqual(["x"]);
    for (const id of ["s4", "s5"]) expect(net.get(id).node.status().lastIndex).toBeLessThan(index);
    net.heal();
    net.tickAll(3);
    for (const id of ["s4", "s5"]) expect(net.appliedData(id)).toEqual(["x"]);
  });

  it("Log Matching: logs that agree on an entry's index and term agree on everything before it", () => {
    const net = new Network(["s1", "s2", "s3"], { seed: 4 });
    for (let round = 0; round < 40; round++) {
      const leader = net.leader();
      if (leader !== null) {
        try {
          net.get(leader).node.propose(bytes(`r${round}`));
        } catch {
          // not a leader anymore or dropping proposals: fine for this scenario
        }
      }
      if (round % 10 === 3) net.isolate(`s${(round % 3) + 1}`);
      if (round % 10 === 7) net.heal();
      net.tickAll(2, (m) => (round + m.to.charCodeAt(1)) % 5 !== 0);
    }
    const logs = ["s1", "s2", "s3"].map((id) => net.logTerms(id));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const common = Math.min(logs[a].length, logs[b].length);
        for (let i = common - 1; i >= 0; i--) {
          if (logs[a][i] === logs[b][i]) {
            expect(logs[a].slice(0, i + 1)).toEqual(logs[b].slice(0, i + 1));
            break;
          }
        }
      }
    }
  });
});

describe("Figure 7: followers with missing and extraneous entries", () => {
  it("the new leader of term 8 brings every follower's log to match its own", () => {
    const ids = ["leader", "a", "b", "c", "d", "e", "f"];
    const logs: Record<string, number[]> = {
      leader: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const net = new Network(ids);
    for (const id of ids) net.start(id, storageWithLog(ids, logs[id], { term: 7 }));
    net.elect("leader");
    const status = net.get("leader").node.status();
    expect(status.role).toBe("leader");
    expect(status.term).toBe(8);
    net.tickAll(5);
    // The leader's log plus its term-8 no-op, everywhere; c, d and f lost their extra entries.
    const expected = [...logs.leader, 8];
    for (const id of ids) expect(net.logTerms(id), id).toEqual(expected);
    for (const id of ids) expect(net.get(id).node.status().commit).toBe(11);
  });
});
