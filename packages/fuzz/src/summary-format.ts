// The human-readable end of a fuzz run: figures per port, and for a failure the shrunk input and
// the command that replays it.
import type { PortRunSummary } from "./run-fuzz.js";

/** Longest counterexample printed in full; the replay command reproduces it exactly anyway. */
const COUNTEREXAMPLE_CHARS_MAX = 8_000;

export function formatPortSummary(summary: PortRunSummary, includeOpen: boolean): string {
  const rss = Object.entries(summary.rssBytesMax)
    .map(([id, bytes]) => `${id} ${Math.round(bytes / 2 ** 20)} MiB`)
    .join(", ");
  const lines = [
    `${summary.port} port: ${summary.inputs} inputs in ${summary.batches} batches, ${(summary.elapsedMs / 1000).toFixed(0)} s, ${summary.inputsPerSecond} inputs/s${summary.interrupted ? " (stopped by the budget)" : ""}`,
    `  peak RSS: ${rss || "n/a"}; hostile inputs not sent: ${summary.skippedHostile}; member inputs (weaker properties): ${summary.memberInputs}; leader changes not reproduced on replay: ${summary.unconfirmedLeaderChanges}`,
  ];
  if (summary.failure === null) lines.push("  no failure");
  else {
    const { counterexample } = summary.failure;
    lines.push(
      `  FAILED (after ${summary.failure.shrinks} shrinks):`,
      ...summary.failure.problems.split("\n").map((p) => `    ${p}`),
      `  smallest failing input: ${counterexample.length > COUNTEREXAMPLE_CHARS_MAX ? `${counterexample.slice(0, COUNTEREXAMPLE_CHARS_MAX)}… (${counterexample.length} chars)` : counterexample}`,
      `  replay: pnpm fuzz --port ${summary.port} --seed ${summary.seed} --path "${summary.failure.path}"${includeOpen ? " --include-open" : ""}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
