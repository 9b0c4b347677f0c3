// Membership changes one server at a time (thesis §4.1), with learners that catch up first.
import { describe, expect, it } from "vitest";
import { Network } from "../helpers/network.js";

const EMPTY = { voters: [], learners: [] };

/** Proposes a change on the leader and waits until it is committed everywhere reachable. */
function change(net: Network, type: "addLearner" | "promote" | "remove", nodeId: string): void {
  const leader = net.leader()!;
  const { index } = net.get(leader).node.proposeConfChange({ type, nodeId });
  net.stabilize();
  net.tickAll(2);
  expect(net.get(net.leader()!).node.status().commit).toBeGreaterThanOrEqual(index);
}

describe("3 → 5 → 3 membership", () => {
  it("grows to five voters through learners, then shrinks back to three, committing throughout", () => {
    const net = new Network(["s1", "s2", "s3"]);
    net.elect("s1");
    net.propose("s1", "with-3");
    for (const id of ["s4", "s5"]) {
      net.add(id, EMPTY);
      change(net, "addLearner", id);
      // The learner has caught up before it becomes a voter.
      expect(net.appliedData(id)).toEqual(net.appliedData("s1"));
      change(net, "promote", id);
    }
    const five = net.get("s1").node.status().confState;
    expect(five.voters.sort()).toEqual(["s1", "s2", "s3", "s4", "s5"]);
    expect(five.learners).toEqual([]);

    // With five voters, two down still commits; three down does not.
    net.isolate("s4");
    net.isolate("s5");
    net.propose("s1", "with-5");
    expect(net.appliedData("s2").at(-1)).toBe("with-5");
    net.isolate("s3");
    const { index } = net.get("s1").node.propose(new Uint8Array([1]));
    net.stabilize();
    expect(net.get("s1").node.status().commit).toBeLessThan(index);
    net.heal();
    net.tickAll(3);
    expect(net.get("s1").node.status().commit).toBeGreaterThanOrEqual(index);

    change(net, "remove", "s4");
    change(net, "remove", "s5");
    const three = net.get("s1").node.status().confState;
    expect(three.voters.sort()).toEqual(["s1", "s2", "s3"]);
    // Back to three: two of three commit, and the removed servers are no longer asked.
    net.isolate("s3");
    net.propose("s1", "with-3-again");
    expect(net.appliedData("s2").at(-1)).toBe("with-3-again");
    expect(net.appliedData("s4")).not.toContain("with-3-again");
    expect(Object.keys(net.get("s1").node.status().progress!).sort()).toEqual(["s1", "s2", "s3"]);
  });

  it("removing the leader: it steps down after the change commits and the rest elect a leader", () => {
    const net = new Network(["s1", "s2", "s3"]);
    net.elect("s1");
    const { index } = net.get("s1").node.proposeConfChange({ type: "remove", nodeId: "s1" });
    net.stabilize();
    expect(net.get("s1").node.status().commit).toBeGreaterThanOrEqual(index);
    expect(net.get("s1").node.status().role).toBe("follower");
    net.tickAll(30);
    const leader = net.leader()!;
    expect(["s2", "s3"]).toContain(leader);
    net.propose(leader, "after-removal");
    expect(net.appliedData("s2").at(-1)).toBe("after-removal");
    expect(net.appliedData("s3").at(-1)).toBe("after-removal");
  });
});

describe("leadership transfer", () => {
  it("the leader catches the target up, then it campaigns at once and wins the next term", () => {
    const net = new Network(["s1", "s2", "s3"]);
    net.elect("s1");
    const term = net.get("s1").node.status().term;
    net.isolate("s2");
    net.propose("s1", "s2-misses-this");
    net.heal();
    net.get("s1").node.transferLeadership("s2");
    net.stabilize();
    expect(net.leader()).toBe("s2");
    expect(net.get("s2").node.status().term).toBe(term + 1);
    expect(net.appliedData("s2")).toEqual(["s2-misses-this"]);
    // No election timeout was needed: no ticks happened.
    net.propose("s2", "under-s2");
    expect(net.appliedData("s1").at(-1)).toBe("under-s2");
  });
});
