// Shared by the operations tests: real `dlock server` processes (the built CLI) on loopback.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalCluster } from "../../src/local-cluster.js";
import type { LocalClusterOptions } from "../../src/local-cluster.js";

/** The built CLI: these tests run real processes, so `pnpm build` must have run. */
export const BUILT_BIN = join(dirname(fileURLToPath(import.meta.url)), "../../dist/bin.js");

export const CLUSTER_ID = "dlock-ops-test";

export async function startCluster(
  prefix: string,
  options: Omit<LocalClusterOptions, "root" | "bin" | "clusterId"> = {},
): Promise<{ cluster: LocalCluster; cleanup: () => Promise<void> }> {
  if (!existsSync(BUILT_BIN)) {
    throw new Error(`${BUILT_BIN} is missing: run \`pnpm build\` before the real-process tests`);
  }
  const root = await mkdtemp(join(tmpdir(), `dlock-${prefix}-`));
  const cluster = await LocalCluster.start({
    ...options,
    root,
    bin: BUILT_BIN,
    clusterId: CLUSTER_ID,
  });
  const cleanup = async (): Promise<void> => {
    await cluster.stop(10_000);
    // DLOCK_KEEP_TEST_DATA=1 keeps the data folders and node logs for a post-mortem.
    if (process.env.DLOCK_KEEP_TEST_DATA === "1") console.log(`test data kept in ${root}`);
    else await rm(root, { recursive: true, force: true });
  };
  return { cluster, cleanup };
}

/** Names of the snapshot files (complete ones) in a node's data folder. */
export async function snapshotFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, "snapshots"))).filter((name) => name.endsWith(".snap"));
}

/** Polls `probe` until it returns a value other than null/false, or fails after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
