#!/usr/bin/env node
// Measures what `dlock snapshot save` costs in memory with many locks held: a real three-node
// cluster takes --locks locks (default 250,000, TTL 2h), then the CLI saves a backup through the
// leader's admin port while both processes' resident memory (VmRSS, from /proc) is sampled. The
// backup is streamed on both sides, so neither should grow by anything near the file's size.
// Linux only; not run in CI. After a build:
//
//   node packages/tools/dist/snapshot-save-measure.js [--locks 250000] [--concurrency 256] [--keep]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DLOCK_BIN, LocalCluster } from "./local-cluster.js";
import * as measure from "./measure-script.js";

const { say } = measure;

const USAGE = `usage: node packages/tools/dist/snapshot-save-measure.js [--locks N] [--concurrency N] [--keep]
  --locks        locks taken and held (TTL 2h) before the save (default 250000)
  --concurrency  acquires in flight while taking them (default 256)
  --keep         keep the data folders, node logs and the backup (the path is printed)
`;

const { values } = parseArgs({
  options: {
    locks: { type: "string", default: "250000" },
    concurrency: { type: "string", default: "256" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

const CLUSTER_ID = "dlock-snapshot-save-measure";
const SAMPLE_EVERY_MS = 20;
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** Resident memory of `pid` in bytes, or null once it is gone. */
function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** Samples the RSS of each pid every SAMPLE_EVERY_MS until stopped; keeps the highest. */
function peakSampler(pids: Record<string, () => number | undefined>): () => Record<string, number> {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const [name, pidOf] of Object.entries(pids)) {
      const pid = pidOf();
      const rss = pid === undefined ? null : rssBytes(pid);
      if (rss !== null) peaks[name] = Math.max(peaks[name] ?? 0, rss);
    }
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

async function main(): Promise<void> {
  const locks = measure.positiveInteger("locks", values.locks, USAGE);
  const concurrency = measure.positiveInteger("concurrency", values.concurrency, USAGE);
  await measure.inScratchFolder("dlock-save-measure-", values.keep, async (root) => {
    say(`three nodes (fsync off) in ${root}`);
    const cluster = await LocalCluster.start({ root, clusterId: CLUSTER_ID, fsync: false });
    try {
      await cluster.waitForLeader(60_000);
      await cluster.waitForReady(60_000);
      await measure.takeLocks(cluster, {
        clusterId: CLUSTER_ID,
        prefix: "save/",
        count: locks,
        concurrency,
      });
      await cluster.waitForReady(60_000);
      const leader = cluster.node(await cluster.waitForLeader());
      const leaderPid = leader.process?.pid;
      if (leaderPid === undefined) throw new Error(`leader ${leader.id} has no process`);
      const before = rssBytes(leaderPid) ?? 0;
      say(`leader ${leader.id}: RSS ${mib(before)} MiB before the save`);

      const file = join(root, "backup.dlock");
      let cliPid: number | undefined;
      const stop = peakSampler({ leader: () => leaderPid, cli: () => cliPid });
      const started = performance.now();
      const code = await new Promise<number | null>((resolve, reject) => {
        const cli = spawn(
          process.execPath,
          [DLOCK_BIN, "snapshot", "save", file, "--admin", leader.httpAddress, "--json"],
          { stdio: ["ignore", "ignore", "inherit"] },
        );
        cliPid = cli.pid;
        cli.once("error", reject);
        cli.once("exit", resolve);
      });
      const seconds = (performance.now() - started) / 1000;
      const peaks = stop();
      if (code !== 0) throw new Error(`dlock snapshot save exited with ${code}`);
      const { size } = await stat(file);
      const leaderPeak = peaks.leader ?? before;
      say(
        `saved ${mib(size)} MiB (${locks} locks) in ${seconds.toFixed(1)} s; ` +
          `leader RSS peak ${mib(leaderPeak)} MiB (+${mib(leaderPeak - before)} MiB over before); ` +
          `dlock snapshot save RSS peak ${mib(peaks.cli ?? 0)} MiB`,
      );
    } finally {
      await cluster.stop();
    }
  });
}

measure.runMeasureScript(USAGE, values.help === true, main);
