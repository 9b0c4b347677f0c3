// A follower whose disk is slower than the network: the leader's snapshot chunks wait for the
// follower's writes (it answers a chunk only once the staging is within its bound), so the
// snapshot never queues in the follower's memory, and the install completes once the disk keeps up.
// A follower whose disk is full for a while writes the failed chunk again and installs.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SnapshotChunk } from "@dlock/raft";
import { tempDir } from "../storage/helpers.js";
import {
  RecordingNetwork,
  acquireCommand,
  leaderOf,
  pausableTicks,
  startNode,
  waitFor,
} from "./cluster.js";
import type { TestNode } from "./cluster.js";
import type { HostScheduler } from "../../src/host/scheduler.js";

const IDS = ["n1", "n2", "n3"];
const CHUNK_BYTES = 128;
const RAFT = { snapshotChunkBytes: CHUNK_BYTES };

describe("RaftHost: a snapshot to a follower whose disk is slow or full", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let network: RecordingNetwork;
  let nodes: TestNode[];
  const dirOf = (id: string) => `${root}/${id}`;
  // The victim's staged writes wait here while the gate is shut.
  let gateOpen = true;
  let waiting: Array<() => void> = [];
  const openGate = () => {
    gateOpen = true;
    for (const go of waiting.splice(0)) go();
  };

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir("slow-disk"));
    network = new RecordingNetwork();
    nodes = [];
    gateOpen = true;
    waiting = [];
  });
  afterEach(async () => {
    openGate();
    await Promise.all(nodes.map((n) => n.host.stop()));
    await cleanup();
  });

  /**
   * Three nodes with small snapshot chunks; one (the victim) is stopped and cut off while the
   * leader takes 60 more locks and every running node compacts, so it can only catch up from the
   * leader's snapshot. The test restarts it (and heals the network) with the disk it wants.
   */
  async function victimBehindCompaction(
    extra: { scheduler?: HostScheduler } = {},
  ): Promise<{ leader: TestNode; victimId: string; compactedTo: number }> {
    nodes = await Promise.all(
      IDS.map((id) =>
        startNode(network, id, dirOf(id), IDS, { compactionEntries: 0, raft: RAFT, ...extra }),
      ),
    );
    await waitFor("a leader", () => leaderOf(nodes) !== undefined);
    const leader = leaderOf(nodes) as TestNode;
    const victim = nodes.find((n) => n !== leader) as TestNode;
    await leader.host.propose(acquireCommand("before"));
    await waitFor("victim applied", () => victim.table.get("before").held);
    network.isolate(victim.id);
    await victim.host.stop();
    nodes = nodes.filter((n) => n !== victim);
    for (let i = 0; i < 60; i++) await leader.host.propose(acquireCommand(`s${i}`));
    const compactedTo = (await leader.host.compact()) as number;
    for (const n of nodes) if (n !== leader) await n.host.compact();
    return { leader, victimId: victim.id, compactedTo };
  }

  it("sends the next chunk only once the follower has written the last, then installs", async () => {
    const { scheduler, ticks } = pausableTicks();
    const { leader, victimId, compactedTo } = await victimBehindCompaction({ scheduler });
    const snapshotBytes = leader.storage.snapshot().data.byteLength;
    expect(snapshotBytes).toBeGreaterThan(8 * CHUNK_BYTES);

    gateOpen = false;
    network.heal(victimId);
    const back = await startNode(network, victimId, dirOf(victimId), IDS, {
      raft: RAFT,
      scheduler,
      stagingBacklogBytesMax: 0,
      stagingWriteDelay: () =>
        gateOpen ? Promise.resolve() : new Promise<void>((go) => waiting.push(go)),
    });
    nodes.push(back);
    const chunksSent = (): SnapshotChunk[] =>
      network.calls
        .filter((call) => call.from === leader.id)
        .flatMap((call) => call.messages)
        .filter((m): m is SnapshotChunk => m.type === "snapshot" && m.to === back.id);

    // Unanswered, the leader resends its chunk once per election timeout in which it heard from
    // the follower: two resends show time passed with the first write still waiting.
    await waitFor("the first chunk resent twice", () => chunksSent().length >= 3);
    expect(new Set(chunksSent().map((c) => c.offset))).toEqual(new Set([0]));
    expect(waiting.length).toBe(1);

    // Without ticks nothing is resent: each chunk from here on goes out because the follower
    // answered the last one as its write ended.
    ticks.on = false;
    openGate();
    await waitFor(
      "victim installed the snapshot",
      () => back.storage.snapshot().metadata.index >= compactedTo,
    );
    ticks.on = true;
    await waitFor("victim caught up", () => back.host.status().applied >= compactedTo);
    expect(back.table.get("s59").held).toBe(true);
    const offsets = [...new Set(chunksSent().map((c) => c.offset))];
    expect(offsets.length).toBe(Math.ceil(snapshotBytes / CHUNK_BYTES));
  });

  it("is unhealthy while a staged chunk cannot be written, then installs (a disk full for a while)", async () => {
    const { victimId, compactedTo } = await victimBehindCompaction();
    network.heal(victimId);
    let diskFull = true;
    const back = await startNode(network, victimId, dirOf(victimId), IDS, {
      raft: RAFT,
      stagingWriteDelay: async () => {
        if (diskFull) throw new Error("ENOSPC: no space left on device (injected)");
      },
    });
    nodes.push(back);
    // Unhealthy while the chunk cannot be written, as when a batch cannot: /readyz and the
    // metrics say so, not only the log.
    await waitFor("the victim reports its disk failing", () => back.host.status().storageFailing);
    expect(back.host.healthy()).toBe(false);
    expect(back.host.status().failure).toMatch(/ENOSPC/);
    diskFull = false;
    await waitFor(
      "victim installed the snapshot",
      () => back.storage.snapshot().metadata.index >= compactedTo,
    );
    await waitFor("victim caught up", () => back.host.status().applied >= compactedTo);
    expect(back.table.get("s59").held).toBe(true);
    expect(back.host.healthy()).toBe(true);
  });
});
