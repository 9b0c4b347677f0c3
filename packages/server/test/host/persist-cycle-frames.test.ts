import { describe, expect, it } from "vitest";
import type { Message } from "@dlock/raft";
import type { StorageWrite } from "../../src/storage/host-storage.js";
import {
  MemoryNetwork,
  RecordingNetwork,
  acquireCommand,
  pausableCluster,
  waitFor,
} from "./cluster.js";
import type { TestNode } from "./cluster.js";

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const isEmptyAppend = (message: Message): boolean =>
  message.type === "append" && message.entries.length === 0;

// The serial-client cases switch ticks off while proposing, so no heartbeat or tick flush sends or
// writes anything: what leaves, leaves because a Ready sent it.
describe("RaftHost: one batch of appends per follower per persist cycle", () => {
  // Ticks are switched off while the leader's write is held, so no heartbeat or tick flush can
  // split the batch (and no election starts: no node ticks).
  const cluster = pausableCluster("frames");

  async function startCluster(network: MemoryNetwork): Promise<TestNode> {
    const leader = await cluster.start(network);
    await leader.host.propose(acquireCommand("warm"));
    await waitFor("every node applied the warm-up", () =>
      cluster.nodes.every((n) => n.table.get("warm").held),
    );
    return leader;
  }

  it("appends proposed in several turns while the leader's write is in flight go out in one send", async () => {
    const network = new RecordingNetwork();
    const leader = await startCluster(network);
    const follower = cluster.nodes.find((n) => n !== leader) as TestNode;

    cluster.ticks.on = false;
    // Hold the leader's next synced storage write (an fsync in flight) until released.
    const gate = new Promise<void>((resolve) => (cluster.release = resolve));
    let gated = false;
    const write = leader.storage.write.bind(leader.storage);
    leader.storage.write = async (writes: readonly StorageWrite[]) => {
      if (writes.some((w) => w.mustSync === true)) {
        gated = true;
        await gate;
      }
      return write(writes);
    };

    const first = leader.host.propose(acquireCommand("first"));
    await waitFor("the leader's synced write in flight", () => gated);
    const indexes: number[] = [];
    const later: Promise<unknown>[] = [];
    for (const key of ["a", "b", "c"]) {
      later.push(leader.host.propose(acquireCommand(key), (index) => indexes.push(index)));
      await nextTurn();
      await nextTurn();
    }
    const callsBefore = network.calls.length;
    const carrying = (index: number) =>
      network.calls.findIndex(
        (call) =>
          call.from === leader.id &&
          call.messages.some(
            (m) =>
              m.to === follower.id &&
              m.type === "append" &&
              m.entries.some((entry) => entry.index === index),
          ),
      );
    // Held: none of them was handed to the transport while the write was in flight.
    for (const index of indexes) expect(carrying(index)).toBe(-1);

    cluster.release();
    await Promise.all([first, ...later]);
    cluster.ticks.on = true;
    const sends = new Set(indexes.map(carrying));
    // All three, proposed in three turns, left in one send call, after the held write.
    expect(sends.size).toBe(1);
    expect([...sends][0]).toBeGreaterThanOrEqual(callsBefore);
    await waitFor("the follower has them", () => follower.storage.lastIndex() >= indexes[2]);
  });

  it("sends no frame that only carries a commit index: the next proposal's append takes it", async () => {
    const network = new RecordingNetwork();
    const leader = await startCluster(network);
    cluster.ticks.on = false;
    const callsBefore = network.calls.length;
    for (const key of ["a", "b", "c", "d"]) await leader.host.propose(acquireCommand(key));
    const leaderCalls = network.calls.slice(callsBefore).filter((c) => c.from === leader.id);
    // Four proposals, one send call each; none of them only empty appends.
    expect(leaderCalls).toHaveLength(4);
    for (const call of leaderCalls) {
      expect(call.messages.some((m) => m.type === "append" && m.entries.length > 0)).toBe(true);
    }
    // The commit of "a" reached the followers with "b" (and so on): they applied a, b and c.
    const followers = cluster.nodes.filter((n) => n !== leader);
    await waitFor("the followers applied a to c", () =>
      followers.every((n) => ["a", "b", "c"].every((key) => n.table.get(key).held)),
    );
    // The last commit index leaves at the next tick.
    expect(leaderCalls.some((call) => call.messages.every(isEmptyAppend))).toBe(false);
    cluster.ticks.on = true;
    await waitFor("the followers applied d", () => followers.every((n) => n.table.get("d").held));
  });

  it("writes the applied changes in the batches the proposals make, and at a tick when none comes", async () => {
    const leader = await startCluster(new MemoryNetwork());
    cluster.ticks.on = false;
    const batches: StorageWrite[][] = [];
    const write = leader.storage.write.bind(leader.storage);
    leader.storage.write = (writes: readonly StorageWrite[]) => {
      batches.push([...writes]);
      return write(writes);
    };
    for (const key of ["a", "b", "c", "d"]) await leader.host.propose(acquireCommand(key));
    // No batch of the lock changes alone (nor of a commit index alone): each carries entries.
    expect(batches.length).toBeGreaterThanOrEqual(4);
    for (const batch of batches) expect(batch.some((w) => (w.entries?.length ?? 0) > 0)).toBe(true);
    // With no proposal left to carry them, the last changes are written at a tick.
    const last = leader.host.status().applied;
    cluster.ticks.on = true;
    await waitFor("the applied index written", () => leader.storage.appliedIndex() >= last);
    expect(leader.host.status().durableAppliedIndex).toBe(last);
  });

  it("writes no batch for a commit index alone: a serial client costs one batch per node per proposal", async () => {
    const leader = await startCluster(new MemoryNetwork());
    cluster.ticks.on = false;
    const batches = new Map<string, StorageWrite[][]>();
    for (const node of cluster.nodes) {
      const ofNode: StorageWrite[][] = [];
      batches.set(node.id, ofNode);
      const write = node.storage.write.bind(node.storage);
      node.storage.write = (writes: readonly StorageWrite[]) => {
        ofNode.push([...writes]);
        return write(writes);
      };
    }
    for (const key of ["a", "b", "c", "d"]) await leader.host.propose(acquireCommand(key));
    const last = leader.host.status().lastIndex;
    await waitFor("the followers wrote d", () =>
      cluster.nodes.every((n) => n.storage.lastIndex() >= last),
    );
    // The leader's commit index moves with every proposal, a follower's with the next one's
    // append; each rides a batch of entries (a restart takes max(stored commit, applied)).
    for (const node of cluster.nodes) {
      const ofNode = batches.get(node.id)!;
      expect(ofNode.map((batch) => batch.some((w) => (w.entries?.length ?? 0) > 0))).toEqual([
        true,
        true,
        true,
        true,
      ]);
    }
    cluster.ticks.on = true;
  });
});
