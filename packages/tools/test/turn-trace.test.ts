import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  longTurnsTable,
  phaseGcTable,
  readLongTurns,
  readPhaseGc,
} from "../src/bench/long-turns.js";
import type { GcSecond, SleepRecord, TurnRecord } from "../src/bench/turn-trace.js";

// The preload runs in a spawned process, so it is the built file (pnpm build).
const PRELOAD = fileURLToPath(new URL("../dist/bench/turn-trace.js", import.meta.url));
const BUSY_MS = 150;

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dlock-turn-trace-"));
  dirs.push(dir);
  return dir;
}

function run(script: string, args: string[], env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, ["--import", PRELOAD, script, ...args], {
    env: { ...process.env, ...env },
    stdio: "inherit",
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function turn(node: string, atEpochMs: number, turnMs: number): TurnRecord {
  return {
    node,
    atEpochMs,
    turnMs,
    onCpuMs: turnMs / 2,
    waitingMs: turnMs / 2,
    blockedMs: 0,
    processCpuMs: turnMs / 2,
    heapUsedMiB: 5,
    gcMs: 0,
    gcKinds: [],
  };
}

describe.runIf(process.platform === "linux")("turn-trace preload", () => {
  it("writes a turn that held the loop, with its time split and the node's id", async () => {
    const dir = await tempDir();
    const script = join(dir, "busy.mjs");
    // Each busy turn spins until the main thread itself has run BUSY_MS on a CPU (its schedstat,
    // as the preload reads it), so it holds that much however loaded the machine is. The sampler
    // thread starts on its own time: the script repeats busy turns until it has written its
    // first stretch (a deadline of 30 s for a loaded machine).
    await writeFile(
      script,
      `import { readFileSync, readdirSync } from "node:fs";
      const onCpuMs = () =>
        Number(readFileSync("/proc/self/task/" + process.pid + "/schedstat", "latin1").split(" ")[0]) / 1e6;
      const sampled = () => readdirSync(process.env.DLOCK_TURN_TRACE_DIR).some((f) => f.startsWith("sleeps-"));
      const deadline = Date.now() + 30000;
      const busyTurn = () => {
        const start = onCpuMs();
        while (onCpuMs() - start < ${BUSY_MS}) {}
        if (sampled() || Date.now() > deadline) setTimeout(() => process.exit(0), 20);
        else setTimeout(busyTurn, 20);
      };
      setTimeout(busyTurn, 20);\n`,
    );
    const traceDir = join(dir, "trace");
    const code = await run(script, ["--id", "t1"], {
      DLOCK_TURN_TRACE_DIR: traceDir,
      DLOCK_TURN_TRACE_MS: "100",
    });
    expect(code).toBe(0);
    const files = (await readdir(traceDir)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^sleeps-t1-\d+\.jsonl$/);
    expect(files[1]).toMatch(/^turns-t1-\d+\.jsonl$/);
    const lines = async (name: string) =>
      (await readFile(join(traceDir, name), "utf8"))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown);
    const records = (await lines(files[1] as string)) as TurnRecord[];
    // The sampler saw the busy turn as a stretch outside epoll, with the main thread running.
    const stretches = (await lines(files[0] as string)) as SleepRecord[];
    expect(
      stretches.some((s) => (s.samples.running ?? 0) > 0),
      JSON.stringify(stretches),
    ).toBe(true);
    const busy = records.find((r) => r.onCpuMs >= BUSY_MS);
    expect(busy, JSON.stringify(records)).toBeDefined();
    const { turnMs, onCpuMs, waitingMs, blockedMs } = busy as TurnRecord;
    expect(busy?.node).toBe("t1");
    expect(turnMs).toBeGreaterThanOrEqual(onCpuMs);
    // The three parts are measured at the turn's two ends, so they add up to the turn.
    expect(Math.abs(onCpuMs + waitingMs + blockedMs - turnMs)).toBeLessThanOrEqual(1);
    // The process's CPU counts the main thread's and its helpers'.
    expect((busy as TurnRecord).processCpuMs).toBeGreaterThanOrEqual(onCpuMs - 1);
  });

  it("writes nothing, and the process runs, without a trace folder", async () => {
    const dir = await tempDir();
    const script = join(dir, "quiet.mjs");
    await writeFile(script, `setTimeout(() => process.exit(0), 20);\n`);
    expect(await run(script, [], {})).toBe(0);
    expect(await readdir(dir)).toEqual(["quiet.mjs"]);
  });
});

describe("long turns of a run", () => {
  it("places each turn in the phase it fell in and lists the longest first", async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, "turns-n1-10.jsonl"),
      `${JSON.stringify(turn("n1", 1_000, 45))}\n${JSON.stringify(turn("n1", 5_000, 90))}\n`,
    );
    await writeFile(join(dir, "turns-n2-11.jsonl"), `${JSON.stringify(turn("n2", 3_000, 60))}\n`);
    const sleep = (node: string, fromEpochMs: number, toEpochMs: number): SleepRecord => ({
      node,
      fromEpochMs,
      toEpochMs,
      samples: { futex_wait_queue: 30, running: 5 },
    });
    // One stretch inside n1's 90 ms turn, one of another node at the same time, one after it.
    await writeFile(
      join(dir, "sleeps-n1-10.jsonl"),
      `${JSON.stringify(sleep("n1", 5_010, 5_050))}\n${JSON.stringify(sleep("n1", 5_200, 5_240))}\n`,
    );
    await writeFile(
      join(dir, "sleeps-n2-11.jsonl"),
      `${JSON.stringify(sleep("n2", 5_010, 5_050))}\n`,
    );
    await writeFile(join(dir, "other.log"), "not a trace\n");
    const turns = await readLongTurns(dir, [
      { phase: "start", atEpochMs: 0 },
      { phase: "fill", atEpochMs: 2_000 },
      { phase: "wiped", atEpochMs: 4_000 },
    ]);
    expect(turns.map((t) => [t.node, t.phase, t.turnMs])).toEqual([
      ["n1", "start", 45],
      ["n2", "fill", 60],
      ["n1", "wiped", 90],
    ]);
    expect(turns.map((t) => t.mainThread)).toEqual([{}, {}, { futex_wait_queue: 30, running: 5 }]);
    const table = longTurnsTable(turns, 40, 2);
    expect(table).toContain("| wiped | n1 1; longest n1 90 ms |");
    expect(table).toContain(
      "| 1 | wiped | n1 | 90 | 45 | 45 | 0 | none | 45 | 5 | futex_wait_queue 30, running 5 |",
    );
    expect(table).toContain("| 2 | fill | n2 | 60 |");
    expect(table).not.toContain("| 3 |");
  });

  it("sums each node's GC pauses by phase, a second's line in the phase it began in", async () => {
    const dir = await tempDir();
    const second = (node: string, atEpochMs: number, major: number[], minor: number[]) => {
      const byKind: GcSecond["byKind"] = {};
      for (const [kind, pauses] of [
        ["major", major],
        ["minor", minor],
      ] as const) {
        if (pauses.length === 0) continue;
        byKind[kind] = {
          count: pauses.length,
          totalMs: pauses.reduce((a, b) => a + b, 0),
          maxMs: Math.max(...pauses),
        };
      }
      return JSON.stringify({ node, atEpochMs, byKind } satisfies GcSecond);
    };
    await writeFile(
      join(dir, "gc-n1-10.jsonl"),
      [
        second("n1", 2_500, [], [1, 2]), // began at 1,500: start
        second("n1", 3_100, [40], [3]), // began at 2,100: fill
        second("n1", 4_100, [10, 20], []), // fill
        second("n1", 6_000, [], [5]), // wiped
      ].join("\n") + "\n",
    );
    await writeFile(join(dir, "gc-n2-11.jsonl"), `${second("n2", 3_500, [7], [])}\n`);
    const rows = await readPhaseGc(dir, [
      { phase: "start", atEpochMs: 0 },
      { phase: "fill", atEpochMs: 2_000 },
      { phase: "wiped", atEpochMs: 4_000 },
    ]);
    expect(rows.map((r) => [r.phase, r.node])).toEqual([
      ["start", "n1"],
      ["fill", "n1"],
      ["fill", "n2"],
      ["wiped", "n1"],
    ]);
    expect(rows[1]?.byKind).toEqual({
      major: { count: 3, totalMs: 70, maxMs: 40 },
      minor: { count: 1, totalMs: 3, maxMs: 3 },
    });
    const table = phaseGcTable(rows);
    expect(table).toContain("| fill | n1 | 3, 70, 40.0 | 1, 3, 3.0 | 0 |");
    expect(table).toContain("| start | n1 | 0 | 2, 3, 2.0 | 0 |");
  });
});
