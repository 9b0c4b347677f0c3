// The scale scenario's results as a table (stdout) and as a chart: a hand-written SVG of locks
// held, RSS per node and event-loop stalls over time, with compactions and elections marked.
import type { ScaleReport } from "./scale.js";

const NODE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"];

export function scaleTable(report: ScaleReport): string {
  const ids = Object.keys(report.rssMiBAfterFill);
  const mib = (v: number | null | undefined) =>
    v === null || v === undefined ? "?" : v.toFixed(0);
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "?" : v.toFixed(0));
  const perNode = (values: Record<string, number | null>, format: typeof mib) =>
    ids.map((id) => `${id} ${format(values[id])}`).join(" / ");
  const lines = [
    `| scale: ${report.locks} locks, ${report.clients} clients, TTL ${report.ttl} | |`,
    "|---|---|",
    `| fill | ${report.fill.seconds.toFixed(1)} s, ${report.fill.locksPerSecond.toFixed(0)} acquires/s, ${report.fill.errors} retried errors |`,
    `| RSS MiB after the fill | ${perNode(report.rssMiBAfterFill, mib)} |`,
    `| RSS MiB after the hold | ${perNode(report.rssMiBAfterHold, mib)} |`,
  ];
  for (const phase of report.phases) {
    lines.push(
      `| ${phase.phase} (${phase.seconds.toFixed(0)} s): leader changes, term | ${phase.leaderChanges}, term ${phase.termFrom ?? "?"} → ${phase.termTo ?? "?"} |`,
      `| ${phase.phase}: peak RSS MiB | ${perNode(phase.rssMiBMax, mib)} |`,
      `| ${phase.phase}: longest event-loop stall ms | ${perNode(phase.lagMaxMs, ms)} |`,
    );
  }
  const compactions = report.compactions;
  if (compactions.length === 0) lines.push("| compactions | none |");
  else {
    const durations = compactions.map((c) => c.durationMs ?? 0);
    const largest = compactions.reduce((a, b) =>
      (b.durationMs ?? 0) > (a.durationMs ?? 0) ? b : a,
    );
    lines.push(
      `| compactions | ${compactions.length}, ${durations.map((d) => d.toFixed(0)).join(", ")} ms |`,
      `| longest compaction | ${largest.node} at index ${largest.index ?? "?"}: ${(largest.durationMs ?? 0).toFixed(0)} ms, snapshot ${mib((largest.snapshotBytes ?? 0) / 1024 / 1024)} MiB |`,
    );
  }
  lines.push(
    `| elections won | ${report.elections.map((e) => `${e.node} term ${e.term ?? "?"} at ${e.atS.toFixed(0)} s`).join("; ") || "none"} |`,
  );
  for (const restart of report.restarts) {
    lines.push(
      `| ${restart.how} (${restart.node}) | /readyz after ${(restart.readyMs / 1000).toFixed(1)} s, caught up (applied ${restart.caughtUpIndex}) after ${(restart.caughtUpMs / 1000).toFixed(1)} s; RSS ${mib(restart.rssMiBAtReady)} MiB when both, ${mib(restart.rssMiBAfter)} MiB max 5 s later; longest stall ${ms(restart.lagMaxMs)} ms; snapshot at ${restart.snapshotIndex ?? "?"} |`,
    );
  }
  for (const install of report.snapshotInstalls) {
    lines.push(
      `| snapshot installed | ${install.node} at ${install.atS.toFixed(0)} s, index ${install.index ?? "?"}, ${mib((install.snapshotBytes ?? 0) / 1024 / 1024)} MiB |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** An SVG of the run: three panels over the same time axis. */
export function scaleChart(report: ScaleReport): string {
  const width = 960;
  const panelHeight = 180;
  const left = 70;
  const right = 20;
  const top = 40;
  const gap = 40;
  const samples = report.samples;
  const ids = samples[0]?.nodes.map((n) => n.id) ?? [];
  const tMax = Math.max(1, ...samples.map((s) => s.atS));
  const x = (t: number) => left + ((width - left - right) * t) / tMax;
  const parts: string[] = [];
  const panel = (
    index: number,
    title: string,
    unit: string,
    series: Array<{ name: string; color: string; points: Array<[number, number | null]> }>,
  ) => {
    const y0 = top + index * (panelHeight + gap);
    const values = series.flatMap((s) => s.points.map(([, v]) => v ?? 0));
    const vMax = niceMax(Math.max(1, ...values));
    const y = (v: number) => y0 + panelHeight - (panelHeight * v) / vMax;
    parts.push(
      `<text x="${left}" y="${y0 - 8}" font-weight="bold">${escape(title)}</text>`,
      `<rect x="${left}" y="${y0}" width="${width - left - right}" height="${panelHeight}" fill="none" stroke="#999"/>`,
    );
    for (let i = 0; i <= 4; i++) {
      const v = (vMax * i) / 4;
      parts.push(
        `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${formatTick(v)}${i === 4 ? ` ${unit}` : ""}</text>`,
        `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
      );
    }
    for (const event of report.compactions) {
      parts.push(
        `<line x1="${x(event.atS)}" x2="${x(event.atS)}" y1="${y0}" y2="${y0 + panelHeight}" stroke="${colorOf(ids, event.node)}" stroke-dasharray="2,3" opacity="0.6"/>`,
      );
    }
    for (const event of report.elections) {
      parts.push(
        `<line x1="${x(event.atS)}" x2="${x(event.atS)}" y1="${y0}" y2="${y0 + panelHeight}" stroke="red" stroke-width="2"/>`,
      );
    }
    series.forEach((s, i) => {
      const path = s.points
        .filter(([, v]) => v !== null)
        .map(([t, v]) => `${x(t).toFixed(1)},${y(v as number).toFixed(1)}`)
        .join(" ");
      parts.push(
        `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`,
        `<text x="${width - right - 10 - (series.length - 1 - i) * 70}" y="${y0 + 14}" text-anchor="end" font-size="11" fill="${s.color}">${escape(s.name)}</text>`,
      );
    });
  };
  panel(0, `locks held (fill with ${report.clients} clients, then hold, restart, wipe)`, "", [
    { name: "locks", color: "#333", points: samples.map((s) => [s.atS, s.locks]) },
  ]);
  panel(
    1,
    "RSS per node",
    "MiB",
    ids.map((id) => ({
      name: id,
      color: colorOf(ids, id),
      points: samples.map((s) => [s.atS, s.nodes.find((n) => n.id === id)?.rssMiB ?? null]),
    })),
  );
  panel(
    2,
    "longest event-loop stall, last 10-20 s",
    "ms",
    ids.map((id) => ({
      name: id,
      color: colorOf(ids, id),
      points: samples.map((s) => [s.atS, s.nodes.find((n) => n.id === id)?.lagMaxMs ?? null]),
    })),
  );
  const height = top + 3 * (panelHeight + gap);
  // Phase names along the time axis.
  let phase = "";
  for (const sample of samples) {
    if (sample.phase === phase) continue;
    phase = sample.phase;
    parts.push(
      `<line x1="${x(sample.atS)}" x2="${x(sample.atS)}" y1="${top}" y2="${height - gap}" stroke="#555" stroke-dasharray="6,4"/>`,
      `<text x="${x(sample.atS) + 3}" y="${height - gap + 14}" font-size="11">${escape(phase)} ${sample.atS.toFixed(0)} s</text>`,
    );
  }
  parts.push(
    `<text x="${left}" y="${height - 6}" font-size="11">time (s, 0-${tMax.toFixed(0)}); dotted: a compaction (node colour); red: an election won</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function colorOf(ids: string[], id: string): string {
  const index = ids.indexOf(id);
  return NODE_COLORS[(index < 0 ? 0 : index) % NODE_COLORS.length]!; // a non-empty constant
}

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function formatTick(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(value % 1_000_000 === 0 ? 0 : 1)}M`;
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`;
  return value.toFixed(value < 10 && value % 1 !== 0 ? 1 : 0);
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
