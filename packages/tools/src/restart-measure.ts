#!/usr/bin/env node
// Measures how long a node takes to come back (process start → /readyz 200) with many locks held:
// a real three-node cluster (fsync on) takes --locks locks (default 100,000, held with a long
// TTL), then a follower is restarted gracefully (SIGTERM) and after a crash (SIGKILL), and the
// leader is restarted gracefully (it hands leadership over first). Not run in CI. After a build:
//
//   node packages/tools/dist/restart-measure.js [--locks 100000] [--concurrency 256]
//        [--compaction-entries 100000] [--keep]
import { parseArgs } from "node:util";
import { Locker } from "@dlock/client";
import { LocalCluster } from "./local-cluster.js";
import type { LocalNodeStatus } from "./local-cluster.js";
import { folderBytes } from "./ops/disk-usage.js";
import {
  inScratchFolder,
  positiveInteger,
  runMeasureScript,
  say,
  takeLocks,
} from "./measure-script.js";

const USAGE = `usage: node packages/tools/dist/restart-measure.js [--locks N] [--concurrency N]
       [--compaction-entries N] [--keep]
  --locks               locks taken and held (TTL 2h) before the restarts (default 100000)
  --concurrency         acquires in flight while taking them (default 256)
  --compaction-entries  the servers' --compaction-entries (default: the server's, 100000)
  --keep                keep the data folders and node logs (the path is printed)
`;

const { values } = parseArgs({
  options: {
    locks: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "256" },
    "compaction-entries": { type: "string" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

const CLUSTER_ID = "dlock-restart-measure";
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const locks = positiveInteger("locks", values.locks, USAGE);
  const concurrency = positiveInteger("concurrency", values.concurrency, USAGE);
  const extraArgs: string[] = [];
  if (values["compaction-entries"] !== undefined) {
    positiveInteger("compaction-entries", values["compaction-entries"], USAGE);
    extraArgs.push("--compaction-entries", values["compaction-entries"]);
  }
  await inScratchFolder("dlock-restart-", values.keep, async (root) => {
    say(`three nodes (fsync on) in ${root}`);
    const cluster = await LocalCluster.start({
      root,
      clusterId: CLUSTER_ID,
      fsync: true,
      extraArgs,
    });
    try {
      await cluster.waitForLeader(60_000);
      await cluster.waitForReady(60_000);
      await takeLocks(cluster, {
        clusterId: CLUSTER_ID,
        prefix: "restart/",
        count: locks,
        concurrency,
      });
      await cluster.waitForReady(60_000);

      const leader = await cluster.waitForLeader();
      const follower = ["n1", "n2", "n3"].find((id) => id !== leader) as string;
      await restart(cluster, "follower, graceful", follower, "SIGTERM");
      await restart(cluster, "follower, crash", follower, "SIGKILL");
      await restart(cluster, "leader, graceful (hands over first)", leader, "SIGTERM");
      const check = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
      try {
        const last = await check.get(`restart/${locks - 1}`);
        if (!last.held)
          throw new Error(`restart/${locks - 1} is no longer held after the restarts`);
      } finally {
        await check.close();
      }
      say(`every lock still held after the restarts (restart/${locks - 1} checked)`);
    } finally {
      await cluster.stop();
    }
  });
}

/** Stops `id` with `signal`, starts it again and prints how long it took to answer /readyz 200. */
async function restart(
  cluster: LocalCluster,
  label: string,
  id: string,
  signal: NodeJS.Signals,
): Promise<void> {
  const before = await cluster.status(id);
  const log = before?.raftLog;
  const disk = await folderBytes(cluster.node(id).dataDir);
  say(
    `${label}: ${id} (${before?.role}) applied ${before?.appliedIndex}; data folder ${mib(disk)} MiB, ` +
      `snapshot at ${log?.snapshotIndex} (${mib(log?.snapshotBytes ?? 0)} MiB), ` +
      `${log?.entries} log entries (${mib(log?.bytes ?? 0)} MiB) above it; ${signal}...`,
  );
  const stopAt = performance.now();
  await cluster.kill(id, signal);
  const stopMs = performance.now() - stopAt;
  const spawnAt = performance.now();
  cluster.restart(id);
  const progress = setInterval(() => {
    void cluster.status(id, 500).then((status: LocalNodeStatus | null) => {
      const seconds = ((performance.now() - spawnAt) / 1000).toFixed(0);
      say(
        status === null
          ? `  ${id} not answering /status yet (${seconds} s)`
          : `  ${id} ${status.role}, applied ${status.appliedIndex} of ${status.commitIndex} (${seconds} s)`,
      );
    });
  }, 2_000);
  try {
    await cluster.waitForReady(300_000, [id]);
  } finally {
    clearInterval(progress);
  }
  const readyMs = performance.now() - spawnAt;
  const after = await cluster.status(id);
  say(
    `  stopped in ${Math.round(stopMs)} ms; /readyz 200 ${Math.round(readyMs)} ms after the ` +
      `process started; applied ${after?.appliedIndex}, leader ${after?.leader}`,
  );
}

runMeasureScript(USAGE, values.help, main);
