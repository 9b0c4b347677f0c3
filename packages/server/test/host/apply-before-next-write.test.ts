import { describe, expect, it } from "vitest";
import type { Message, NodeId } from "@dlock/raft";
import type { PeerTransport } from "../../src/host/interfaces.js";
import type { StorageWrite } from "../../src/storage/host-storage.js";
import { MemoryNetwork, acquireCommand, pausableCluster, waitFor } from "./cluster.js";

/** Holds the messages `holdIf` picks, until released. */
class HoldingNetwork extends MemoryNetwork {
  holdIf: (message: Message) => boolean = () => false;
  private held: { inner: PeerTransport; message: Message }[] = [];
  override transport(id: NodeId): PeerTransport {
    const inner = super.transport(id);
    return {
      send: (messages) => {
        for (const message of messages) {
          if (this.holdIf(message)) this.held.push({ inner, message });
          else inner.send([message]);
        }
      },
      onMessage: (handler) => inner.onMessage(handler),
    };
  }
  /** Delivers the held messages `which` picks; holds what is picked by `holdIf` from now on. */
  release(which: (message: Message) => boolean, holdIf: (message: Message) => boolean): void {
    this.holdIf = holdIf;
    const held = this.held;
    this.held = [];
    for (const item of held) {
      if (which(item.message)) item.inner.send([item.message]);
      else this.held.push(item);
    }
  }
}

const maxEntryIndex = (writes: readonly StorageWrite[]): number => {
  let top = 0;
  for (const write of writes)
    for (const entry of write.entries ?? []) top = Math.max(top, entry.index);
  return top;
};

describe("RaftHost: a leader applies committed entries without waiting for its next write", () => {
  // No ticks while messages are held: no heartbeat round, no election, no check-quorum step-down.
  const cluster = pausableCluster("apply-early");

  it("answers a committed proposal while the write of the next proposal is in flight", async () => {
    const network = new HoldingNetwork();
    const leader = await cluster.start(network);
    await leader.host.propose(acquireCommand("warm"));
    // Both followers' acknowledgements of it in first: one held below would leave that follower
    // paused (probing), sent nothing more, and the first entry never durable on it.
    const warm = leader.host.status().lastIndex;
    const followers = cluster.nodes.filter((n) => n !== leader);
    await waitFor("the warm-up acknowledged by both followers", () =>
      followers.every((n) => (leader.host.status().progress?.[n.id]?.match ?? 0) >= warm),
    );

    cluster.ticks.on = false;
    // The followers' acknowledgements wait until the next proposal's write is in flight.
    const toLeader = (m: Message): boolean => m.to === leader.id;
    network.holdIf = toLeader;
    let firstIndex = Number.MAX_SAFE_INTEGER;
    let durableIndex = 0;
    let gated = false;
    const gate = new Promise<void>((resolve) => (cluster.release = resolve));
    const write = leader.storage.write.bind(leader.storage);
    leader.storage.write = async (writes: readonly StorageWrite[]) => {
      const top = maxEntryIndex(writes);
      if (top > firstIndex) {
        gated = true;
        await gate;
      }
      await write(writes);
      durableIndex = Math.max(durableIndex, top);
    };

    let firstSettled = false;
    const first = leader.host.propose(acquireCommand("first"), (index) => (firstIndex = index));
    void first.then(() => (firstSettled = true));
    await waitFor(
      "the first entry durable on every node",
      () =>
        durableIndex >= firstIndex && followers.every((n) => n.storage.lastIndex() >= firstIndex),
    );
    // The second entry reaches no follower (else it might commit with the first).
    network.holdIf = () => true;
    const second = leader.host.propose(acquireCommand("second"));
    await waitFor("the second entry's write in flight", () => gated);

    network.release(toLeader, (m) => !toLeader(m));
    // The first entry commits now; its answer must not wait for the second entry's fsync.
    await waitFor(
      "the first proposal answered while the second's write is held",
      () => firstSettled,
    );
    expect(gated).toBe(true);
    expect(durableIndex).toBe(firstIndex);
    expect(leader.table.get("first").held).toBe(true);

    network.release(
      () => true,
      () => false,
    );
    cluster.release();
    cluster.ticks.on = true;
    await second;
    expect(leader.table.get("second").held).toBe(true);
  });
});
