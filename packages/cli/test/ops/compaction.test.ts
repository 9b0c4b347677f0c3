// Compaction under endless refresh traffic, on a real three-node cluster with fsync on: the Raft
// log on every node stays under its thresholds, old snapshot files are deleted, and the data
// folders stay far below what the log alone would take without compaction.
import { afterEach, describe, expect, it } from "vitest";
import type { LocalCluster } from "@dlock/tools";
import { folderBytes } from "@dlock/tools";
import { runRefreshLoad } from "@dlock/tools";
import { CLUSTER_ID, snapshotFiles, startCluster, waitUntil } from "./support.js";

const ENTRIES_LIMIT = 2_000;
const BYTES_LIMIT = 512 * 1024;
const OPERATIONS = 30_000;
/** Long keys make each refresh entry ~430 bytes: 30,000 of them are ~13 MB of log. */
const KEY_PREFIX = "k".repeat(390);
const DISK_CEILING = 10 * 1024 * 1024;

describe("compaction under endless refresh traffic (real processes, fsync on)", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("keeps every node's Raft log and data folder bounded", async () => {
    let cluster: LocalCluster;
    ({ cluster, cleanup } = await startCluster("compaction", {
      extraArgs: [
        "--compaction-entries",
        String(ENTRIES_LIMIT),
        "--compaction-bytes",
        String(BYTES_LIMIT),
      ],
    }));
    await cluster.waitForLeader();
    await cluster.waitForReady();

    const peak = new Map<string, { entries: number; bytes: number; disk: number; files: number }>();
    for (const node of cluster.nodes)
      peak.set(node.id, { entries: 0, bytes: 0, disk: 0, files: 0 });
    let sampling = true;
    const sampler = (async () => {
      let round = 0;
      while (sampling) {
        for (const node of cluster.nodes) {
          const record = peak.get(node.id)!;
          const log = (await cluster.status(node.id))?.raftLog;
          if (log !== undefined) {
            record.entries = Math.max(record.entries, log.entries);
            record.bytes = Math.max(record.bytes, log.bytes);
          }
          if (round % 5 === 0) {
            record.disk = Math.max(record.disk, await folderBytes(node.dataDir));
            record.files = Math.max(record.files, (await snapshotFiles(node.dataDir)).length);
          }
        }
        round++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const result = await runRefreshLoad({
      endpoints: cluster.endpoints(),
      clusterId: CLUSTER_ID,
      locks: 256,
      concurrency: 64,
      ttlMs: 60_000,
      operations: OPERATIONS,
      keyPrefix: KEY_PREFIX,
    }).finally(() => {
      sampling = false;
    });
    await sampler;
    const rate = Math.round(result.operations / (result.durationMs / 1000));
    console.log(`${result.operations} lock operations at ${rate}/s; peaks per node:`, peak);

    expect(result.operations).toBeGreaterThanOrEqual(OPERATIONS);
    expect(result.failures).toBe(0);
    expect(result.lost).toBe(0);
    for (const node of cluster.nodes) {
      const status = await cluster.status(node.id);
      const log = status?.raftLog;
      expect(log).toBeDefined();
      // ~13 MB of entries went through every node: each compacted many times.
      expect(log!.snapshotsTaken).toBeGreaterThanOrEqual(8);
      expect(log!.snapshotIndex).toBeGreaterThan(OPERATIONS - 2 * ENTRIES_LIMIT);
      const record = peak.get(node.id)!;
      // A compaction starts at 3/4 of a limit (on a leader streaming a snapshot: at the limit);
      // entries appended while it runs may take the log past it, never past twice the limit.
      expect(record.entries).toBeLessThanOrEqual(2 * ENTRIES_LIMIT);
      expect(record.bytes).toBeLessThanOrEqual(2 * BYTES_LIMIT);
      expect(record.disk).toBeLessThan(DISK_CEILING);
      // The older file goes once the newer one is durable: one, or two for a moment.
      expect(record.files).toBeLessThanOrEqual(2);
      // A compaction that began near the end of the load may still hold two files; once it is
      // durable the older one goes, so the folder settles on exactly one.
      const files = await waitUntil(
        `${node.id}'s snapshot folder to hold one file`,
        async () => {
          const names = await snapshotFiles(node.dataDir);
          return names.length === 1 ? names : null;
        },
        60_000,
      );
      expect(files).toHaveLength(1);
    }
  }, 180_000);
});
