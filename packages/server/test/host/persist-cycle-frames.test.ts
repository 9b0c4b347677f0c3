import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Message, NodeId } from "@dlock/raft";
import type { StorageWrite } from "../../src/storage/host-storage.js";
import { tempDir } from "../storage/helpers.js";
import {
  MemoryNetwork,
  acquireCommand,
  leaderOf,
  pausableTicks,
  startNode,
  waitFor,
} from "./cluster.js";
import type { TestNode } from "./cluster.js";

const IDS = ["n1", "n2", "n3"];
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records every send() call of each node: which peer got which entry indexes in it. */
class RecordingNetwork extends MemoryNetwork {
  readonly calls: { from: NodeId; messages: Message[] }[] = [];
  override transport(id: NodeId): ReturnType<MemoryNetwork["transport"]> {
    const inner = super.transport(id);
    return {
      send: (messages) => {
        this.calls.push({ from: id, messages: [...messages] });
        inner.send(messages);
      },
      onMessage: (handler) => inner.onMessage(handler),
    };
  }
}

describe("RaftHost: one batch of appends per follower per persist cycle", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let nodes: TestNode[] = [];
  // Ticks are switched off while the leader's write is held, so no heartbeat or tick flush can
  // split the batch (and no election starts: no node ticks).
  let release = (): void => {};
  const { scheduler, ticks } = pausableTicks();

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir("frames"));
    ticks.on = true;
  });
  afterEach(async () => {
    ticks.on = true;
    release();
    await Promise.all(nodes.map((n) => n.host.stop()));
    nodes = [];
    await cleanup();
  });

  it("appends proposed in several turns while the leader's write is in flight go out in one send", async () => {
    const network = new RecordingNetwork();
    nodes = await Promise.all(
      IDS.map((id) => startNode(network, id, `${root}/${id}`, IDS, { scheduler })),
    );
    await waitFor("a leader", () => leaderOf(nodes) !== undefined);
    const leader = leaderOf(nodes) as TestNode;
    await leader.host.propose(acquireCommand("warm"));
    const follower = nodes.find((n) => n !== leader) as TestNode;

    ticks.on = false;
    // Hold the leader's next synced storage write (an fsync in flight) until released.
    const gate = new Promise<void>((resolve) => (release = resolve));
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

    release();
    await Promise.all([first, ...later]);
    ticks.on = true;
    const sends = new Set(indexes.map(carrying));
    // All three, proposed in three turns, left in one send call, after the held write.
    expect(sends.size).toBe(1);
    expect([...sends][0]).toBeGreaterThanOrEqual(callsBefore);
    await waitFor("the follower has them", () => follower.storage.lastIndex() >= indexes[2]);
  });
});
