// A LocalCluster of real `dlock server` processes for one test file: short ticks so the TTL floor
// (5 election timeouts) is 1 s, fsync on, a temporary root folder removed afterwards unless
// DLOCK_E2E_KEEP=1. The nodes run the built `dlock` (packages/cli/dist/bin.js).
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_SERVER_OPTIONS } from "@dlock/server";
import { resolveLockLimits } from "@dlock/server/internal";
import * as LocalClusterModule from "@dlock/tools";

export type LocalCluster = LocalClusterModule.LocalCluster;
export type LocalClusterOptions = LocalClusterModule.LocalClusterOptions;

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const REPO_ROOT = resolve(HERE, "../../../../..");
const CLI_DIST = resolve(HERE, "../../../dist");

/** Raft tick of test clusters. */
export const TICK_MS = 20;
/** Election timeout in ticks: 200 ms, so the TTL floor is 1 s. */
export const ELECTION_TICKS = 10;
export const ELECTION_TIMEOUT_MS = TICK_MS * ELECTION_TICKS;
/** The server's shortest TTL for an election timeout, as the server derives it. */
function ttlFloorMs(electionTimeoutMs: number): number {
  return resolveLockLimits({ electionTimeoutMs }).ttlMsMin;
}

/** The server's shortest TTL with these settings (5 election timeouts: 1 s). */
export const TTL_FLOOR_MS = ttlFloorMs(ELECTION_TIMEOUT_MS);

/**
 * The Raft timing `dlock server` ships with (no --tick/--election-ticks: 50 ms × 10 = 500 ms),
 * for tests that claim a flood "costs no election". They must judge the product's setting: the
 * 200 ms timeout above is shorter than the scheduling stalls a loaded 2-core machine produces with
 * no flood at all (event-loop lag p99 of 190 ms measured before a flood under a CPU hog).
 */
export const SHIPPED_TIMING: Partial<LocalClusterOptions> = {
  tickMs: undefined,
  electionTicks: undefined,
};
/** The shortest TTL under SHIPPED_TIMING (the server's default tick and election ticks). */
export const SHIPPED_TTL_FLOOR_MS = ttlFloorMs(
  DEFAULT_SERVER_OPTIONS.tickMs * DEFAULT_SERVER_OPTIONS.electionTicks,
);

export async function loadLocalCluster(): Promise<typeof LocalClusterModule> {
  const bin = join(CLI_DIST, "bin.js");
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is missing: the real-process tests run the built CLI; run \`npx -y pnpm@12.4.2 run build\` first`,
    );
  }
  return LocalClusterModule;
}

export interface TestCluster {
  cluster: LocalCluster;
  root: string;
  /** Starts the nodes again on the same root (after `stop`), on fresh ports. */
  startAgain(): Promise<LocalCluster>;
  /** Kills every node and removes the root folder (unless DLOCK_E2E_KEEP=1). */
  dispose(): Promise<void>;
}

/** Starts a three-node cluster and waits until it has a leader and every node is ready. */
export async function startTestCluster(
  name: string,
  options: Partial<LocalClusterOptions> = {},
): Promise<TestCluster> {
  const { LocalCluster } = await loadLocalCluster();
  const root = await mkdtemp(join(tmpdir(), `dlock-e2e-${name}-`));
  const start = async (): Promise<LocalCluster> => {
    const cluster = await LocalCluster.start({
      root,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      fsync: true,
      // A whole-cluster stop would otherwise wait the default 5 s for a transfer to a stopping peer.
      extraArgs: ["--shutdown-timeout", "1s"],
      ...options,
    });
    try {
      await cluster.waitForLeader(30_000);
      await cluster.waitForReady(30_000);
    } catch (error) {
      await cluster.stop(2_000);
      throw error;
    }
    return cluster;
  };
  const state: TestCluster = {
    cluster: await start(),
    root,
    startAgain: async () => {
      state.cluster = await start();
      return state.cluster;
    },
    dispose: async () => {
      // The data is thrown away: no need for a graceful stop (cluster-restart tests that one).
      await Promise.all(state.cluster.nodes.map((node) => state.cluster.kill(node.id, "SIGKILL")));
      if (process.env.DLOCK_E2E_KEEP === "1") {
        process.stderr.write(`kept node data and logs in ${root}\n`);
      } else {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
  return state;
}

/** Ids of the nodes whose process is running. */
export function runningNodes(cluster: LocalCluster): string[] {
  return cluster.nodes.filter((n) => n.process !== null).map((n) => n.id);
}
