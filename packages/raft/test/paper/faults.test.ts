// A partitioned old leader (check-quorum, §6.2 of the thesis) and a follower that needs a snapshot
// (§7), as scenarios.
import { describe, expect, it } from "vitest";
import { bytes, Network } from "../helpers/network.js";

describe("a partitioned old leader", () => {
  it("steps down on its own, and its uncommitted entries are overwritten after the heal", () => {
    const net = new Network(["s1", "s2", "s3", "s4", "s5"]);
    net.elect("s1");
    net.propose("s1", "committed-before");
    // s1 and s2 end up on the minority side.
    for (const a of ["s1", "s2"]) for (const b of ["s3", "s4", "s5"]) net.partition(a, b);
    net.get("s1").node.propose(bytes("lost-1"));
    net.get("s1").node.propose(bytes("lost-2"));
    net.stabilize();
    expect(net.get("s2").node.status().lastIndex).toBe(net.get("s1").node.status().lastIndex);
    net.tickAll(40);
    // Check-quorum: s1 heard from only s2 of five, so it is no longer leader.
    expect(net.get("s1").node.status().role).not.toBe("leader");
    const leader = net.leader()!;
    expect(["s3", "s4", "s5"]).toContain(leader);
    net.propose(leader, "new-majority");
    net.heal();
    net.tickAll(10);
    for (const id of ["s1", "s2", "s3", "s4", "s5"]) {
      expect(net.appliedData(id), id).toEqual(["committed-before", "new-majority"]);
      expect(net.logTerms(id)).toEqual(net.logTerms(leader));
    }
  });
});

describe("a follower that needs a snapshot", () => {
  it("catches up from the leader's snapshot when the entries it misses are compacted", () => {
    const net = new Network(["s1", "s2", "s3"], { config: { snapshotChunkBytes: 8 } });
    net.elect("s1");
    net.isolate("s3");
    for (let i = 0; i < 30; i++) net.get("s1").node.propose(bytes(`v${i}`));
    net.stabilize();
    const leader = net.get("s1");
    const status = leader.node.status();
    const state = bytes(net.appliedData("s1").join(","));
    leader.storage.createSnapshot(status.applied, status.confState, state);
    leader.storage.compact(status.applied);
    leader.node.compacted(status.applied);
    expect(leader.node.status().firstIndex).toBe(status.applied + 1);
    net.heal();
    net.tickAll(10);
    const s3 = net.get("s3");
    expect(s3.installedSnapshots).toEqual([status.applied]);
    expect(new TextDecoder().decode(s3.storage.snapshot().data)).toBe(
      Array.from({ length: 30 }, (_, i) => `v${i}`).join(","),
    );
    net.propose("s1", "after-snapshot");
    expect(net.appliedData("s3")).toEqual(["after-snapshot"]);
    expect(s3.node.status().commit).toBe(leader.node.status().commit);
  });
});
