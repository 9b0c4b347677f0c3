// A real three-node cluster (fsync on) of the built `dlock server` for one test file, and a way
// to run the built `dlock` against it as a separate process.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DLOCK_BIN, LocalCluster } from "@dlock/tools";

/** 20 ms ticks: a 200 ms election timeout, so the shortest TTL is 1 s (5 election timeouts). */
export const TEST_TICK_MS = 20;

export interface TestCluster {
  cluster: LocalCluster;
  /** The environment for `dlock` processes: DLOCK_ENDPOINTS set to this cluster. */
  env: NodeJS.ProcessEnv;
  root: string;
  stop(): Promise<void>;
}

export async function startTestCluster(
  name: string,
  extraArgs: readonly string[] = [],
): Promise<TestCluster> {
  if (!existsSync(DLOCK_BIN)) {
    throw new Error(`${DLOCK_BIN} is missing: build first (npx -y pnpm@12.4.2 run build)`);
  }
  const root = await mkdtemp(join(tmpdir(), `dlock-${name}-`));
  const cluster = await LocalCluster.start({
    root,
    tickMs: TEST_TICK_MS,
    logLevel: "warn",
    extraArgs: [...extraArgs],
  });
  try {
    await cluster.waitForLeader(30_000);
    await cluster.waitForReady(30_000);
  } catch (error) {
    await cluster.stop(2_000);
    throw error;
  }
  return {
    cluster,
    root,
    env: { ...cleanEnvironment(), DLOCK_ENDPOINTS: cluster.endpoints().join(",") },
    async stop() {
      await cluster.stop(5_000);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** This process's environment without DLOCK_* variables (a developer's shell must not leak in). */
export function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("DLOCK_")),
  );
}

export interface DlockResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface DlockRun {
  pid: number;
  done: Promise<DlockResult>;
}

/** Starts the built `dlock` with `args`; `done` resolves when it has exited and closed its pipes. */
export function startDlock(args: readonly string[], env: NodeJS.ProcessEnv): DlockRun {
  return startNode([DLOCK_BIN, ...args], env);
}

/** Runs a script (an example) with node from `cwd`, as a reader would: `node examples/x.mjs`. */
export function runNodeScript(
  script: string,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<DlockResult> {
  return startNode([script], env, cwd).done;
}

function startNode(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): DlockRun {
  const child = spawn(process.execPath, argv, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd }),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<DlockResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { pid: child.pid!, done };
}

export function runDlock(args: readonly string[], env: NodeJS.ProcessEnv): Promise<DlockResult> {
  return startDlock(args, env).done;
}
