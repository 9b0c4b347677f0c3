// Shared by the operations tests: real `dlock server` processes (the built CLI) on loopback.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalCluster } from "@dlock/tools";
import type { LocalClusterOptions } from "@dlock/tools";

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

/** Runs the built `dlock` CLI with `args`; resolves with its exit code and output. */
export function runDlock(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_BIN, ...args], { stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A seed for a randomized test: DLOCK_TEST_SEED replays one; printed either way. */
export function testSeed(name: string): number {
  const given = process.env.DLOCK_TEST_SEED;
  const seed = given !== undefined ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${name}: seed ${seed} (replay with DLOCK_TEST_SEED=${seed})`);
  return seed;
}
