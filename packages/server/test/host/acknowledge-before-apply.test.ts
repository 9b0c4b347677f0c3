import { describe, expect, it } from "vitest";
import type { Message, NodeId } from "@dlock/raft";
import type { PeerTransport } from "../../src/host/interfaces.js";
import { MemoryNetwork, acquireCommand, pausableCluster, waitFor } from "./cluster.js";

/**
 * Calls `onWrite` with each message a node sends at the check phase of the turn that sent it
 * (setImmediate), where the TCP transport writes a turn's messages to the socket.
 */
class TurnEndNetwork extends MemoryNetwork {
  onWrite: (from: NodeId, message: Message) => void = () => {};
  override transport(id: NodeId): PeerTransport {
    const inner = super.transport(id);
    return {
      send: (messages) => {
        const sent = [...messages];
        setImmediate(() => {
          for (const message of sent) this.onWrite(id, message);
        });
        inner.send(messages);
      },
      onMessage: (handler) => inner.onMessage(handler),
    };
  }
}

describe("RaftHost: a follower acknowledges a write before it applies what the write committed", () => {
  // No ticks: the commit index reaches the follower only with the next entries (a held empty
  // append rides with them), so one Ready both writes an entry and commits the one before it.
  const cluster = pausableCluster("ack-before-apply");

  it("writes the acknowledgement before the committed entry is applied", async () => {
    const network = new TurnEndNetwork();
    const leader = await cluster.start(network);
    await leader.host.propose(acquireCommand("warm"));
    const warm = leader.host.status().lastIndex;
    const follower = cluster.nodes.find((n) => n !== leader)!;
    await waitFor("the warm-up applied on the follower", () => follower.table.appliedIndex >= warm);

    cluster.ticks.on = false;
    let firstIndex = 0;
    await leader.host.propose(acquireCommand("first"), (index) => (firstIndex = index));
    await waitFor("the first entry durable on the follower", () => {
      return follower.storage.lastIndex() >= firstIndex;
    });
    // The follower holds it but has not heard that it committed (no tick, no entries since).
    expect(follower.table.get("first").held).toBe(false);

    // The append of the second entry commits the first; note what the follower had applied when
    // its acknowledgement of the second reached the socket.
    let appliedAtAck: boolean | null = null;
    network.onWrite = (from, message) => {
      if (from !== follower.id || message.type !== "appendResp" || message.reject) return;
      if (message.index > firstIndex && appliedAtAck === null)
        appliedAtAck = follower.table.get("first").held;
    };
    const second = leader.host.propose(acquireCommand("second"));
    await waitFor(
      "the follower's acknowledgement of the second entry",
      () => appliedAtAck !== null,
    );
    expect(appliedAtAck).toBe(false);
    // Applied right after, in the next turn.
    await waitFor("the follower to apply the first entry", () => follower.table.get("first").held);
    // The applied index it writes never runs ahead of its log.
    expect(follower.storage.appliedIndex()).toBeLessThanOrEqual(follower.storage.lastIndex());

    cluster.ticks.on = true;
    await second;
    await waitFor("the follower to apply the second entry", () => {
      return follower.table.get("second").held;
    });
  });
});
