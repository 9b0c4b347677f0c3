import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LevelStorage } from "../../src/storage/level-storage.js";
import type { StorageWrite } from "../../src/storage/host-storage.js";
import { tempDir } from "../storage/helpers.js";
import { MemoryNetwork, acquireCommand, leaderOf, startNode, waitFor } from "./cluster.js";
import type { TestNode } from "./cluster.js";

const IDS = ["n1", "n2", "n3"];
const CHANGES_PER_BATCH_MAX = 16;
const BEFORE_SNAPSHOT = 300;
const AFTER_SNAPSHOT = 400;

/** One storage batch as the storage saw it: the lock records it wrote, whether it installed. */
interface Batch {
  lockRecordKeys: string[];
  snapshot: boolean;
}

describe("RaftHost: state machine changes written after a snapshot install", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let nodes: TestNode[] = [];
  const batchesOf = new Map<LevelStorage, Batch[]>();
  const write = LevelStorage.prototype.write;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir("state-changes"));
    // Counted through the storage: every batch any node writes, by storage.
    LevelStorage.prototype.write = function (this: LevelStorage, writes: StorageWrite[]) {
      const batches = batchesOf.get(this) ?? [];
      batchesOf.set(this, batches);
      batches.push({
        lockRecordKeys: writes.flatMap((w) => (w.lockRecords ?? []).map(([key]) => key)),
        snapshot: writes.some((w) => w.snapshot !== undefined),
      });
      return write.call(this, writes);
    };
  });
  afterEach(async () => {
    LevelStorage.prototype.write = write;
    batchesOf.clear();
    await Promise.all(nodes.map((n) => n.host.stop()));
    nodes = [];
    await cleanup();
  });

  it("writes only the records changed after the snapshot, at most stateChangesPerBatchMax a batch", async () => {
    const network = new MemoryNetwork();
    const dirOf = (id: string) => `${root}/${id}`;
    nodes = await Promise.all(
      IDS.map((id) => startNode(network, id, dirOf(id), IDS, { compactionEntries: 0 })),
    );
    await waitFor("a leader", () => leaderOf(nodes) !== undefined);
    const leader = leaderOf(nodes) as TestNode;
    const victim = nodes.find((n) => n !== leader) as TestNode;
    network.isolate(victim.id);
    await victim.host.stop();
    nodes = nodes.filter((n) => n !== victim);
    const propose = (prefix: string, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          leader.host.propose(acquireCommand(`${prefix}${i}`)),
        ),
      );
    await propose("s", BEFORE_SNAPSHOT);
    const compactedTo = (await leader.host.compact()) as number;
    expect(compactedTo).toBeGreaterThan(BEFORE_SNAPSHOT);
    await propose("t", AFTER_SNAPSHOT);
    const last = leader.storage.lastIndex();

    network.heal(victim.id);
    const back = await startNode(network, victim.id, dirOf(victim.id), IDS, {
      stateChangesPerBatchMax: CHANGES_PER_BATCH_MAX,
      // A Ready per committed entry: applies are checked against the bound entry by entry.
      raft: { committedBytesPerReadyMax: 1 },
    });
    nodes.push(back);
    await waitFor(
      "the snapshot installed",
      () => back.storage.snapshot().metadata.index >= compactedTo,
    );
    await waitFor("caught up", () => back.host.status().durableAppliedIndex >= last);
    expect(back.table.get(`t${AFTER_SNAPSHOT - 1}`).held).toBe(true);

    const batches = batchesOf.get(back.storage) ?? [];
    const installed = batches.findIndex((b) => b.snapshot);
    expect(installed).toBeGreaterThanOrEqual(0);
    const after = batches.slice(installed + 1);
    const written = after.flatMap((b) => b.lockRecordKeys);
    // Records the install wrote are not written again: only the keys the later entries took.
    expect(written.filter((key) => key.startsWith("s"))).toEqual([]);
    expect(new Set(written)).toEqual(
      new Set(Array.from({ length: AFTER_SNAPSHOT }, (_, i) => `t${i}`)),
    );
    for (const batch of after) {
      expect(batch.lockRecordKeys.length).toBeLessThanOrEqual(CHANGES_PER_BATCH_MAX);
    }
  });
});
