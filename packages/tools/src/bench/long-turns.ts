// The long turns the servers' turn-trace preload wrote (turn-trace.ts), each placed in the phase
// of the run it fell in, and a table of them: where a stall's time went (on a CPU, waiting for
// one, blocked, in the garbage collector) decides whether it is the server's work or the machine.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { GcSecond, SleepRecord, TurnRecord } from "./turn-trace.js";

/** The preload's file, for `node --import`. */
export const TURN_TRACE_PRELOAD = new URL("./turn-trace.js", import.meta.url).href;

export interface LongTurn extends TurnRecord {
  phase: string;
  /** The sampler's 1 ms samples of the main thread in the turn: running, or where it slept. */
  mainThread: Record<string, number>;
}

/** When each phase of a run began (epoch ms), in order. */
export type PhaseStarts = ReadonlyArray<{ phase: string; atEpochMs: number }>;

/** GC pauses of one node in one phase, by kind. */
export interface PhaseGc {
  phase: string;
  node: string;
  byKind: GcSecond["byKind"];
}

/** Every node's GC pauses per phase, from the preload's per-second lines. */
export async function readPhaseGc(dir: string, phases: PhaseStarts): Promise<PhaseGc[]> {
  const seconds = await readLines<GcSecond>(dir, await readdir(dir), "gc-");
  const out = new Map<string, PhaseGc>();
  for (const second of seconds) {
    // A second's line is written at its end: it belongs to the phase its start was in.
    const phase = phaseAt(phases, second.atEpochMs - 1_000);
    const id = `${phase} ${second.node}`;
    let entry = out.get(id);
    if (entry === undefined) {
      entry = { phase, node: second.node, byKind: {} };
      out.set(id, entry);
    }
    for (const [kind, tally] of Object.entries(second.byKind)) {
      const sum = (entry.byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      sum.count += tally.count;
      sum.totalMs += tally.totalMs;
      sum.maxMs = Math.max(sum.maxMs, tally.maxMs);
    }
  }
  const order = phases.map((p) => p.phase);
  return [...out.values()].sort(
    (a, b) => order.indexOf(a.phase) - order.indexOf(b.phase) || a.node.localeCompare(b.node),
  );
}

/** Per phase and node: count, total and longest pause of each GC kind. */
export function phaseGcTable(rows: readonly PhaseGc[]): string {
  const lines = [
    "| GC pauses | node | major: count, total, longest ms | minor | incremental |",
    "|---|---|---|---|---|",
  ];
  const cell = (row: PhaseGc, kind: string) => {
    const tally = row.byKind[kind];
    return tally === undefined
      ? "0"
      : `${tally.count}, ${tally.totalMs.toFixed(0)}, ${tally.maxMs.toFixed(1)}`;
  };
  for (const row of rows) {
    lines.push(
      `| ${row.phase} | ${row.node} | ${cell(row, "major")} | ${cell(row, "minor")} | ${cell(row, "incremental")} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export async function readLongTurns(dir: string, phases: PhaseStarts): Promise<LongTurn[]> {
  const names = await readdir(dir);
  const sleeps = await readLines<SleepRecord>(dir, names, "sleeps-");
  const turns = (await readLines<TurnRecord>(dir, names, "turns-")).map((record) => ({
    ...record,
    phase: phaseAt(phases, record.atEpochMs),
    mainThread: samplesIn(sleeps, record),
  }));
  return turns.sort((a, b) => a.atEpochMs - b.atEpochMs);
}

async function readLines<T>(dir: string, names: string[], prefix: string): Promise<T[]> {
  const records: T[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".jsonl")) continue;
    const text = await readFile(join(dir, name), "utf8");
    for (const line of text.split("\n"))
      if (line.trim() !== "") records.push(JSON.parse(line) as T);
  }
  return records;
}

/** The samples of the node's stretches outside epoll that overlap the turn. */
function samplesIn(sleeps: readonly SleepRecord[], turn: TurnRecord): Record<string, number> {
  const out: Record<string, number> = {};
  const endMs = turn.atEpochMs + turn.turnMs;
  for (const sleep of sleeps) {
    if (sleep.node !== turn.node || sleep.toEpochMs < turn.atEpochMs || sleep.fromEpochMs > endMs)
      continue;
    for (const [where, count] of Object.entries(sleep.samples))
      out[where] = (out[where] ?? 0) + count;
  }
  return out;
}

function phaseAt(phases: PhaseStarts, atEpochMs: number): string {
  let phase = phases[0]?.phase ?? "?";
  for (const p of phases) if (p.atEpochMs <= atEpochMs) phase = p.phase;
  return phase;
}

/** Per phase and node: how many long turns, and the longest few with their split. */
export function longTurnsTable(turns: readonly LongTurn[], thresholdMs: number, top = 12): string {
  const lines = [
    `| long turns (> ${thresholdMs} ms), by phase | count per node; longest |`,
    "|---|---|",
  ];
  const phases = [...new Set(turns.map((t) => t.phase))];
  for (const phase of phases) {
    const inPhase = turns.filter((t) => t.phase === phase);
    const nodes = [...new Set(inPhase.map((t) => t.node))].sort();
    const counts = nodes.map((n) => `${n} ${inPhase.filter((t) => t.node === n).length}`);
    const longest = inPhase.reduce((a, b) => (b.turnMs > a.turnMs ? b : a));
    lines.push(
      `| ${phase} | ${counts.join(" / ")}; longest ${longest.node} ${longest.turnMs} ms |`,
    );
  }
  if (turns.length === 0) lines.push("| (none) | |");
  lines.push(
    "",
    `| the ${top} longest turns | phase | node | turn ms | on CPU | waiting for a CPU | blocked | GC in it | process CPU | heap MiB | main thread (1 ms samples) |`,
    "|---|---|---|---|---|---|---|---|---|---|---|",
  );
  const longest = [...turns].sort((a, b) => b.turnMs - a.turnMs).slice(0, top);
  longest.forEach((t, i) => {
    const gc = t.gcKinds.length === 0 ? "none" : `${t.gcMs} (${t.gcKinds.join(", ")})`;
    lines.push(
      `| ${i + 1} | ${t.phase} | ${t.node} | ${t.turnMs} | ${t.onCpuMs} | ${t.waitingMs} | ${t.blockedMs} | ${gc} | ${t.processCpuMs} | ${t.heapUsedMiB} | ${whereOf(t.mainThread)} |`,
    );
  });
  return `${lines.join("\n")}\n`;
}

function whereOf(samples: Record<string, number>): string {
  const top = Object.entries(samples)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4);
  return top.length === 0 ? "?" : top.map(([where, count]) => `${where} ${count}`).join(", ");
}
