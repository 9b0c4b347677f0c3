#!/usr/bin/env node
// The long compaction measurement (not run in CI): a real three-node cluster (fsync on) under
// endless refresh traffic, printing every node's Raft log (entries, bytes) and data folder size
// over time, then the peaks. Run after a build:
//
//   node packages/tools/dist/compaction-soak.js [--operations 200000] [--locks 512]
//        [--concurrency 64] [--compaction-entries 10000] [--compaction-bytes 1MiB]
//        [--key-bytes 16] [--keep]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LocalCluster } from "./local-cluster.js";
import { folderBytes } from "./ops/disk-usage.js";
import { runRefreshLoad } from "./ops/refresh-load.js";

interface Sample {
  atS: number;
  operations: number;
  nodes: Array<{
    id: string;
    entries: number;
    bytes: number;
    snapshotIndex: number;
    diskBytes: number;
  }>;
}

const { values } = parseArgs({
  options: {
    operations: { type: "string", default: "200000" },
    locks: { type: "string", default: "512" },
    concurrency: { type: "string", default: "64" },
    "compaction-entries": { type: "string", default: "10000" },
    "compaction-bytes": { type: "string", default: "1MiB" },
    "sample-every": { type: "string", default: "5000" },
    "key-bytes": { type: "string", default: "16" },
    keep: { type: "boolean", default: false },
  },
});

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);

async function main(): Promise<void> {
  const operations = Number(values.operations);
  const root = await mkdtemp(join(tmpdir(), "dlock-soak-"));
  const cluster = await LocalCluster.start({
    root,
    fsync: true,
    extraArgs: [
      "--compaction-entries",
      String(values["compaction-entries"]),
      "--compaction-bytes",
      String(values["compaction-bytes"]),
    ],
  });
  const samples: Sample[] = [];
  const started = performance.now();
  let done = 0;
  let sampling = Promise.resolve();
  const sample = async (): Promise<void> => {
    const nodes = await Promise.all(
      cluster.nodes.map(async (node) => {
        const status = await cluster.status(node.id);
        const log = status?.raftLog;
        return {
          id: node.id,
          entries: log?.entries ?? -1,
          bytes: log?.bytes ?? -1,
          snapshotIndex: log?.snapshotIndex ?? -1,
          diskBytes: await folderBytes(node.dataDir),
        };
      }),
    );
    const row: Sample = { atS: (performance.now() - started) / 1000, operations: done, nodes };
    samples.push(row);
    const cells = nodes.map(
      (n) =>
        `${n.id} log ${String(n.entries).padStart(6)} entries ${mib(n.bytes).padStart(6)} MiB, snap@${String(n.snapshotIndex).padStart(7)}, disk ${mib(n.diskBytes).padStart(6)} MiB`,
    );
    process.stdout.write(
      `${row.atS.toFixed(1).padStart(6)} s ${String(done).padStart(7)} ops | ${cells.join(" | ")}\n`,
    );
  };
  try {
    await cluster.waitForLeader(60_000);
    await cluster.waitForReady(60_000);
    process.stdout.write(
      `cluster up in ${root}; ${operations} operations, compaction at ${values["compaction-entries"]} entries or ${values["compaction-bytes"]}\n`,
    );
    const result = await runRefreshLoad({
      endpoints: cluster.endpoints(),
      clusterId: "dlock-local",
      locks: Number(values.locks),
      concurrency: Number(values.concurrency),
      ttlMs: 60_000,
      operations,
      keyPrefix: "k".repeat(Math.max(1, Number(values["key-bytes"]) - 8)),
      progressEvery: Number(values["sample-every"]),
      onProgress: (n) => {
        done = n;
        sampling = sampling.then(sample);
      },
    });
    done = result.operations;
    await sampling;
    await sample();
    const seconds = result.durationMs / 1000;
    process.stdout.write(
      `\n${result.operations} operations in ${seconds.toFixed(1)} s (${Math.round(result.operations / seconds)}/s), ${result.failures} failed, ${result.lost} locks lost\n`,
    );
    const entriesLimit = Number(values["compaction-entries"]);
    for (const node of cluster.nodes) {
      const rows = samples.map((s) => s.nodes.find((n) => n.id === node.id)!);
      const peak = Math.max(...rows.map((n) => n.entries));
      // A compaction starts at 3/4 of the limit; entries appended while it runs use the rest.
      process.stdout.write(
        peak <= entriesLimit
          ? `${node.id}: log entries at or below --compaction-entries ${entriesLimit} in every sample (peak ${peak})\n`
          : `${node.id}: log entries above --compaction-entries ${entriesLimit} in some sample (peak ${peak}, ${peak - entriesLimit} over)\n`,
      );
      const max = (pick: (n: Sample["nodes"][number]) => number) => Math.max(...rows.map(pick));
      const half = rows.slice(Math.floor(rows.length / 2));
      const last = rows.at(-1);
      if (last === undefined) throw new Error("compaction-soak: no samples were taken");
      process.stdout.write(
        `${node.id}: peak log ${max((n) => n.entries)} entries / ${mib(max((n) => n.bytes))} MiB; ` +
          `disk peak ${mib(max((n) => n.diskBytes))} MiB (second half ${mib(Math.max(...half.map((n) => n.diskBytes)))} MiB), final ${mib(last.diskBytes)} MiB; ` +
          `last snapshot at ${last.snapshotIndex}\n`,
      );
    }
  } finally {
    await cluster.stop();
    if (values.keep) process.stdout.write(`data and logs kept in ${root}\n`);
    else await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
