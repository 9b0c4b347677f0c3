import { describe, expect, it } from "vitest";
import { Network } from "./helpers/network.js";

describe("ReadIndex", () => {
  it("confirms leadership with a heartbeat quorum and writes nothing to the log", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.propose("n1", "a");
    const n1 = net.get("n1");
    const before = n1.node.status();
    n1.node.readIndex(42);
    const ready = n1.node.ready();
    expect(ready.entries).toHaveLength(0);
    const heartbeats = ready.messages.filter((m) => m.type === "heartbeat");
    expect(heartbeats).toHaveLength(2);
    expect(heartbeats.every((m) => m.type === "heartbeat" && m.readContext > 0)).toBe(true);
    net.handleReady(n1, ready);
    expect(n1.readStates).toEqual([]);
    net.stabilize();
    expect(n1.readStates).toEqual([{ requestId: 42, index: before.commit }]);
    expect(n1.node.status().lastIndex).toBe(before.lastIndex);
  });

  it("a round whose heartbeats were lost is confirmed by the next periodic heartbeat", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const n1 = net.get("n1");
    n1.node.readIndex(11);
    net.stabilize((m) => !(m.type === "heartbeat" && m.readContext > 0 && m.from === "n1"));
    expect(n1.readStates).toEqual([]);
    net.tickAll(1);
    expect(n1.readStates).toEqual([{ requestId: 11, index: n1.node.status().commit }]);
  });

  it("batches reads that arrive before the heartbeats leave into one round", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const n1 = net.get("n1").node;
    n1.readIndex(1);
    n1.readIndex(2);
    n1.readIndex(3);
    const heartbeats = n1.ready().messages.filter((m) => m.type === "heartbeat");
    expect(heartbeats).toHaveLength(2);
  });

  it("a leader cut off from the quorum never answers and drops the reads when it steps down", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.isolate("n1");
    net.get("n1").node.readIndex(7);
    net.tickAll(25);
    const n1 = net.get("n1");
    expect(n1.readStates).toEqual([]);
    expect(n1.node.status().role).not.toBe("leader");
    expect(n1.droppedReads).toEqual([7]);
  });

  it("is held back until the leader has committed an entry of its own term", () => {
    const net = new Network(["n1", "n2", "n3"]);
    // n1 wins, but the no-op's acknowledgements are lost: nothing of its term is committed.
    net.get("n1").node.campaign();
    net.stabilize((m) => m.type !== "appendResp");
    const n1 = net.get("n1");
    expect(n1.node.status().role).toBe("leader");
    expect(n1.node.status().commit).toBe(0);
    n1.node.readIndex(5);
    const ready = n1.node.ready();
    expect(ready.messages.filter((m) => m.type === "heartbeat")).toHaveLength(0);
    net.handleReady(n1, ready);
    // The lost probes are noticed once overdue (half an election timeout of heartbeat answers).
    net.tickAll(10);
    expect(n1.readStates).toEqual([{ requestId: 5, index: 1 }]);
  });

  it("a single-voter cluster answers at once", () => {
    const net = new Network(["solo"]);
    net.elect("solo");
    const solo = net.get("solo");
    solo.node.readIndex(9);
    net.drain("solo");
    expect(solo.readStates).toEqual([{ requestId: 9, index: 1 }]);
  });

  it("a follower refuses with a leader hint", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    expect(() => net.get("n2").node.readIndex(1)).toThrow(
      expect.objectContaining({ code: "NOT_LEADER" }),
    );
  });
});
