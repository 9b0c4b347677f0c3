// The semaphore and election fail-over results of `pnpm bench` as a table (stdout) and as a
// chart: a hand-written SVG with one bar per fail-over round (the TTL marked) and the semaphore's
// wait for a permit per window.
import type { FailoverReport } from "./election-failover.js";
import type { ScenarioOutcome } from "./scenario.js";

/** What the table and the chart need of a semaphore window (a ScenarioReport has it all). */
export interface SemaphoreWindow extends ScenarioOutcome {
  title: string;
  round: number;
  tls: boolean;
  permits: number | null;
}

const BAR_COLORS = { process: "#d62728", node: "#1f77b4", p50: "#2ca02c", p99: "#ff7f0e" };

const windowName = (w: SemaphoreWindow) =>
  `semaphore: ${w.title}${w.tls ? " [TLS]" : ""}, round ${w.round}`;

export function primitivesTable(
  semaphores: readonly SemaphoreWindow[],
  failovers: readonly FailoverReport[],
): string {
  const ms = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(1));
  const lines = ["| primitive | result |", "|---|---|"];
  for (const w of semaphores) {
    lines.push(
      `| ${windowName(w)} | ${w.cyclesPerSecond.toFixed(0)} permit cycles/s; wait for a permit p50 ${ms(w.waitMs?.p50)} ms, p99 ${ms(w.waitMs?.p99)} ms; most holders at once ${w.holdersMax} of ${w.permits ?? "?"} |`,
    );
  }
  for (const f of failovers) {
    const rounds = f.failoverMs.map((v) => v.toFixed(0)).join(", ");
    const summary =
      f.summaryMs === null
        ? "no round completed"
        : `p50 ${f.summaryMs.p50.toFixed(0)} ms, max ${f.summaryMs.max.toFixed(0)} ms (rounds: ${rounds} ms)`;
    lines.push(
      `| election fail-over, ${f.kill} kill, TTL ${f.ttl} | ${summary}${f.errors.length > 0 ? `; ${f.errors.length} failed round(s)` : ""} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export function primitivesChart(
  semaphores: readonly SemaphoreWindow[],
  failovers: readonly FailoverReport[],
): string {
  const width = 960;
  const left = 70;
  const right = 20;
  const panelHeight = 200;
  const top = 40;
  const gap = 70;
  const parts: string[] = [];
  const barPanel = (
    index: number,
    title: string,
    unit: string,
    bars: Array<{ label: string; value: number; color: string }>,
    markers: Array<{ label: string; value: number }>,
  ) => {
    const y0 = top + index * (panelHeight + gap);
    const vMax = Math.max(1, ...bars.map((b) => b.value), ...markers.map((m) => m.value)) * 1.1;
    const y = (v: number) => y0 + panelHeight - (panelHeight * v) / vMax;
    const slot = (width - left - right) / Math.max(1, bars.length);
    parts.push(
      `<text x="${left}" y="${y0 - 8}" font-weight="bold">${escapeXml(title)}</text>`,
      `<rect x="${left}" y="${y0}" width="${width - left - right}" height="${panelHeight}" fill="none" stroke="#999"/>`,
      `<text x="${left - 6}" y="${y0 + 4}" text-anchor="end" font-size="11">${vMax.toFixed(0)} ${unit}</text>`,
      `<text x="${left - 6}" y="${y0 + panelHeight}" text-anchor="end" font-size="11">0</text>`,
    );
    bars.forEach((bar, i) => {
      const x = left + i * slot + slot * 0.15;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(bar.value).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(y0 + panelHeight - y(bar.value)).toFixed(1)}" fill="${bar.color}"/>`,
        `<text x="${(x + slot * 0.35).toFixed(1)}" y="${(y(bar.value) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${bar.value.toFixed(0)}</text>`,
        `<text x="${(x + slot * 0.35).toFixed(1)}" y="${y0 + panelHeight + 14}" text-anchor="middle" font-size="10">${escapeXml(bar.label)}</text>`,
      );
    });
    for (const marker of markers) {
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(marker.value).toFixed(1)}" y2="${y(marker.value).toFixed(1)}" stroke="#555" stroke-dasharray="6,4"/>`,
        `<text x="${width - right - 4}" y="${(y(marker.value) - 4).toFixed(1)}" text-anchor="end" font-size="11">${escapeXml(marker.label)}</text>`,
      );
    }
  };
  let panels = 0;
  if (failovers.length > 0) {
    barPanel(
      panels++,
      "election fail-over: kill to the next leader's campaign() returning, per round (red: the leader's process killed; blue: the Raft leader node killed, the leader resigning)",
      "ms",
      failovers.flatMap((f) =>
        f.failoverMs.map((value, i) => ({
          label: `${f.kill} ${i + 1}`,
          value,
          color: BAR_COLORS[f.kill],
        })),
      ),
      [...new Set(failovers.map((f) => f.ttlMs))].map((ttlMs) => ({
        label: `TTL ${ttlMs} ms`,
        value: ttlMs,
      })),
    );
  }
  if (semaphores.length > 0) {
    barPanel(
      panels++,
      "semaphore: wait for a permit, p50 (green) and p99 (orange), per window",
      "ms",
      semaphores.flatMap((w) => [
        {
          label: `r${w.round}${w.tls ? " TLS" : ""} p50`,
          value: w.waitMs?.p50 ?? 0,
          color: BAR_COLORS.p50,
        },
        {
          label: `r${w.round}${w.tls ? " TLS" : ""} p99`,
          value: w.waitMs?.p99 ?? 0,
          color: BAR_COLORS.p99,
        },
      ]),
      [],
    );
    const y = top + panels * (panelHeight + gap) - gap + 34;
    parts.push(
      `<text x="${left}" y="${y}" font-size="11">${escapeXml(
        semaphores
          .map(
            (w) => `${windowName(w)}: most holders at once ${w.holdersMax} of ${w.permits ?? "?"}`,
          )
          .join("; "),
      )}</text>`,
    );
  }
  const height = top + panels * (panelHeight + gap);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`;
  return `${svg}\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
