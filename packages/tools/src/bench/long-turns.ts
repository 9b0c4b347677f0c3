// The long turns the servers' turn-trace preload wrote (turn-trace.ts), each placed in the phase
// of the run it fell in, and a table of them: where a stall's time went (on a CPU, waiting for
// one, blocked, in the garbage collector) decides whether it is the server's work or the machine.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { TurnRecord } from "./turn-trace.js";

/** The preload's file, for `node --import`. */
export const TURN_TRACE_PRELOAD = new URL("./turn-trace.js", import.meta.url).href;

export interface LongTurn extends TurnRecord {
  phase: string;
}

/** When each phase of a run began (epoch ms), in order. */
export type PhaseStarts = ReadonlyArray<{ phase: string; atEpochMs: number }>;

export async function readLongTurns(dir: string, phases: PhaseStarts): Promise<LongTurn[]> {
  const turns: LongTurn[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith("turns-") || !name.endsWith(".jsonl")) continue;
    const text = await readFile(join(dir, name), "utf8");
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const record = JSON.parse(line) as TurnRecord;
      turns.push({ ...record, phase: phaseAt(phases, record.atEpochMs) });
    }
  }
  return turns.sort((a, b) => a.atEpochMs - b.atEpochMs);
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
    `| the ${top} longest turns | phase | node | turn ms | on CPU | waiting for a CPU | blocked | GC in it |`,
    "|---|---|---|---|---|---|---|---|",
  );
  const longest = [...turns].sort((a, b) => b.turnMs - a.turnMs).slice(0, top);
  longest.forEach((t, i) => {
    const gc = t.gcKinds.length === 0 ? "none" : `${t.gcMs} (${t.gcKinds.join(", ")})`;
    lines.push(
      `| ${i + 1} | ${t.phase} | ${t.node} | ${t.turnMs} | ${t.onCpuMs} | ${t.waitingMs} | ${t.blockedMs} | ${gc} |`,
    );
  });
  return `${lines.join("\n")}\n`;
}
