// What the measurement scripts (restart-measure, catchup-measure) share: how they start and end,
// their scratch data folder, a progress line on stdout, the check of a whole-number flag and the
// many locks they take before measuring.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Locker } from "@dlock/client";
import type { LocalCluster } from "./local-cluster.js";

/** Runs a script's `main`, or prints `usage` for --help; an error ends it with its stack, exit 1. */
export function runMeasureScript(usage: string, help: boolean, main: () => Promise<void>): void {
  if (help) {
    process.stdout.write(usage);
    return;
  }
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

/** Runs `work` in a new temporary folder, removed afterwards unless `keep` (then it is printed). */
export async function inScratchFolder<T>(
  prefix: string,
  keep: boolean,
  work: (root: string) => Promise<T>,
): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await work(root);
  } finally {
    if (keep) say(`data and logs kept in ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `text` as a positive whole number; otherwise an error naming `--name` and ending in `usage`. */
export function positiveInteger(name: string, text: string, usage: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`--${name}: "${text}" is not a positive whole number\n${usage}`);
  }
  return value;
}

/**
 * Takes `count` locks named `prefix`0.. (holder-<i>, TTL 2h) with `concurrency` acquires in
 * flight, printing progress every 5 s.
 */
export async function takeLocks(
  cluster: LocalCluster,
  options: { clusterId: string; prefix: string; count: number; concurrency: number },
): Promise<void> {
  const { count } = options;
  const locker = new Locker({ endpoints: cluster.endpoints(), clusterId: options.clusterId });
  const started = performance.now();
  let next = 0;
  let done = 0;
  const progress = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    say(`  ${done} of ${count} locks taken (${seconds.toFixed(0)} s)`);
  }, 5_000);
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < count) {
          const i = next++;
          await locker.acquire(`${options.prefix}${i}`, `holder-${i}`, { ttl: "2h" });
          done++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
    await locker.close();
  }
  const seconds = (performance.now() - started) / 1000;
  say(`${count} locks taken in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)`);
}
