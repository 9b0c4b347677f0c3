import { describe, expect, it } from "vitest";
import { MemoryStorage, ProposalDroppedError, RaftError, RawNode } from "../src/index.js";
import type { AppendRequest } from "../src/index.js";
import { bytes, Network, seededRandom } from "./helpers/network.js";

describe("log replication", () => {
  it("replicates and commits proposals on every node in order", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    for (let i = 0; i < 10; i++) net.get("n1").node.propose(bytes(`v${i}`));
    net.stabilize();
    const expected = Array.from({ length: 10 }, (_, i) => `v${i}`);
    for (const id of ["n1", "n2", "n3"]) expect(net.appliedData(id)).toEqual(expected);
  });

  it("a non-leader refuses proposals with a leader hint", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    try {
      net.get("n2").node.propose(bytes("x"));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RaftError);
      expect((error as RaftError).leader).toBe("n1");
      expect((error as RaftError).code).toBe("NOT_LEADER");
    }
  });

  it("batches many proposals into one append per follower, bounded by messageBytesMax", () => {
    const net = new Network(["n1", "n2", "n3"], { config: { messageBytesMax: 1000 } });
    net.elect("n1");
    const leader = net.get("n1").node;
    for (let i = 0; i < 50; i++) leader.propose(new Uint8Array(100));
    const ready = leader.ready();
    const appends = ready.messages.filter((m): m is AppendRequest => m.type === "append");
    const toN2 = appends.filter((m) => m.to === "n2");
    // 50 entries of 100 bytes at most 10 per message: 5 pipelined messages to each follower.
    expect(toN2).toHaveLength(5);
    for (const m of toN2) expect(m.entries.length).toBe(10);
    expect(toN2.map((m) => m.prevIndex)).toEqual([1, 11, 21, 31, 41]);
  });

  it("bounds the messages in flight to a follower", () => {
    const net = new Network(["n1", "n2", "n3"], {
      config: { messageBytesMax: 100, inflightMessagesMax: 3 },
    });
    net.elect("n1");
    const leader = net.get("n1").node;
    for (let i = 0; i < 20; i++) leader.propose(new Uint8Array(100));
    const toN2 = leader.ready().messages.filter((m) => m.type === "append" && m.to === "n2");
    expect(toN2).toHaveLength(3);
    expect(leader.status().progress!.n2.state).toBe("replicate");
  });

  it("bounds the bytes in flight to a follower", () => {
    const net = new Network(["n1", "n2", "n3"], {
      config: { messageBytesMax: 100, inflightBytesMax: 250 },
    });
    net.elect("n1");
    const leader = net.get("n1").node;
    for (let i = 0; i < 20; i++) leader.propose(new Uint8Array(100));
    const toN2 = leader.ready().messages.filter((m) => m.type === "append" && m.to === "n2");
    expect(toN2).toHaveLength(3); // 100 + 100 + 100 ≥ 250 closes the window
  });

  it("the leader sends appends before its own write is durable and counts itself only after advance", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const n1 = net.get("n1");
    const { index } = n1.node.propose(bytes("x"));
    const ready = n1.node.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([index]);
    expect(ready.messages.filter((m) => m.type === "append")).toHaveLength(2);
    // Only one follower answers; without the leader's own durable copy there is no majority.
    net.inflight.push(...ready.messages.filter((m) => m.to === "n2"));
    net.deliverOnce();
    net.drain("n2");
    net.deliverOnce((m) => m.to === "n1");
    // n1 holds n2's ack, but its own copy is not durable yet: one of three is no majority.
    expect(n1.node.status().commit).toBe(index - 1);
    n1.storage.persist(ready);
    n1.node.advance(ready);
    expect(n1.node.status().commit).toBe(index);
  });

  it("planted bug acknowledgeBeforePersist counts the leader's unpersisted entry", () => {
    const net = new Network(["n1", "n2", "n3"], {
      config: { plantedBugs: { acknowledgeBeforePersist: true } },
    });
    net.elect("n1");
    const n1 = net.get("n1");
    const { index } = n1.node.propose(bytes("x"));
    const ready = n1.node.ready();
    net.inflight.push(...ready.messages.filter((m) => m.to === "n2"));
    net.deliverOnce();
    // The follower answers before persisting: its response is in `messages`.
    const followerReady = net.get("n2").node.ready();
    expect(followerReady.messages.some((m) => m.type === "appendResp")).toBe(true);
    net.inflight.push(...followerReady.messages);
    net.deliverOnce((m) => m.to === "n1");
    expect(n1.node.status().commit).toBe(index);
  });

  it("followers acknowledge appends only after persisting (messagesAfterPersist)", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.get("n1").node.propose(bytes("x"));
    net.drain("n1");
    net.deliverOnce();
    const ready = net.get("n2").node.ready();
    expect(ready.entries).toHaveLength(1);
    expect(ready.messages.some((m) => m.type === "appendResp")).toBe(false);
    expect(ready.messagesAfterPersist.some((m) => m.type === "appendResp")).toBe(true);
  });

  it("refuses proposals over uncommittedBytesMax with ProposalDroppedError", () => {
    const net = new Network(["n1", "n2", "n3"], { config: { uncommittedBytesMax: 1000 } });
    net.elect("n1");
    net.isolate("n1");
    const leader = net.get("n1").node;
    for (let i = 0; i < 10; i++) leader.propose(new Uint8Array(100));
    expect(() => leader.propose(new Uint8Array(100))).toThrow(ProposalDroppedError);
    try {
      leader.propose(new Uint8Array(1));
    } catch (error) {
      expect((error as ProposalDroppedError).code).toBe("PROPOSAL_DROPPED");
    }
    net.heal();
    net.stabilize();
    net.tickAll(2);
    // Once committed, the budget is free again.
    expect(() => leader.propose(new Uint8Array(100))).not.toThrow();
  });

  it("fast backtracking skips a whole conflicting term in one round trip", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    // n1 appends 50 entries that only it has (term 2), then loses leadership.
    net.isolate("n1");
    for (let i = 0; i < 50; i++) net.get("n1").node.propose(bytes(`stale${i}`));
    net.drain("n1");
    net.inflight = [];
    net.tickAll(30);
    const newLeader = net.leader()!;
    expect(newLeader).not.toBe("n1");
    for (let i = 0; i < 5; i++) net.get(newLeader).node.propose(bytes(`new${i}`));
    net.stabilize();
    net.heal();
    let rejections = 0;
    net.tickAll(3, (m) => {
      if (m.type === "appendResp" && m.reject && m.from === "n1") rejections++;
      return true;
    });
    expect(rejections).toBeLessThanOrEqual(2);
    expect(net.appliedData("n1")).toEqual(net.appliedData(newLeader));
    expect(net.logTerms("n1")).toEqual(net.logTerms(newLeader));
    expect(net.appliedData("n1")).toEqual(["new0", "new1", "new2", "new3", "new4"]);
  });

  it("restarts from storage with hard state, membership and applied index", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.propose("n1", "a");
    net.propose("n1", "b");
    const before = net.get("n2").node.status();
    const storage = net.get("n2").storage;
    const restarted = new RawNode(
      { id: "n2", random: seededRandom(9), applied: before.applied },
      storage,
    );
    const after = restarted.status();
    expect(after.term).toBe(before.term);
    expect(after.vote).toBe(before.vote);
    expect(after.lastIndex).toBe(before.lastIndex);
    expect(after.applied).toBe(before.applied);
    expect(after.confState).toEqual(before.confState);
    // Nothing applied is re-applied.
    const ready = restarted.ready();
    expect(ready.committedEntries).toHaveLength(0);
  });

  it("a ready never hands out committed entries the host was not asked to persist", () => {
    const storage = new MemoryStorage({ voters: ["a"], learners: [] });
    const node = new RawNode({ id: "a", random: seededRandom(1) }, storage);
    node.campaign();
    const r1 = node.ready();
    expect(r1.committedEntries).toHaveLength(0);
    storage.persist(r1);
    node.advance(r1);
    const r2 = node.ready();
    expect(r2.committedEntries.map((e) => e.kind)).toEqual(["noop"]);
  });
});
