// What the measurement scripts (restart-measure, catchup-measure) share: how they start and end,
// their scratch data folder, a progress line on stdout and the check of a whole-number flag.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
