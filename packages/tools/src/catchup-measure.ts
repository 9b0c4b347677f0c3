#!/usr/bin/env node
// Kills the leader (SIGKILL) of a real three-node cluster (fsync on) under acquire/release load,
// restarts it after --down-ms and measures its catch-up, --rounds times: bytes the peers sent it
// against the log it lacked, peak RSS per node, kill → next grant and the longest outage the
// clients saw. Prints every round and a summary; exits 1 when a bound is broken (more than 2× the
// lacked bytes sent, a node over 512 MiB RSS, a failed client operation). Not run in CI (a
// shorter version is packages/cli/test/ops/catchup.test.ts). After a build:
//
//   node packages/tools/dist/catchup-measure.js [--rounds 10] [--clients 8] [--down-ms 3000]
//        [--budget-s 900] [--keep]
import { parseArgs } from "node:util";
import { checkCatchUpBounds } from "./catchup-bounds.js";
import { CATCH_UP_ROUND_DEFAULTS, runCatchUpRounds } from "./catchup-rounds.js";
import type { CatchUpRound } from "./catchup-rounds.js";
import { LocalCluster } from "./local-cluster.js";
import { inScratchFolder, positiveInteger, runMeasureScript, say } from "./measure-script.js";

const USAGE = `usage: node packages/tools/dist/catchup-measure.js [--rounds N] [--clients N]
       [--down-ms N] [--budget-s N] [--keep]
  --rounds    leader kills (default 10)
  --clients   clients running acquire/release loops (default ${CATCH_UP_ROUND_DEFAULTS.clients})
  --down-ms   how long the killed leader stays down (default ${CATCH_UP_ROUND_DEFAULTS.downMs})
  --budget-s  give up (exit 2) after this many seconds (default 900)
  --keep      keep the data folders and node logs (the path is printed)
Environment: DLOCK_CATCHUP_ROUNDS, DLOCK_CATCHUP_CLIENTS, DLOCK_CATCHUP_DOWN_MS,
DLOCK_CATCHUP_BUDGET_S stand in for the flags.
`;

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: process.env.DLOCK_CATCHUP_ROUNDS ?? "10" },
    clients: {
      type: "string",
      default: process.env.DLOCK_CATCHUP_CLIENTS ?? String(CATCH_UP_ROUND_DEFAULTS.clients),
    },
    "down-ms": {
      type: "string",
      default: process.env.DLOCK_CATCHUP_DOWN_MS ?? String(CATCH_UP_ROUND_DEFAULTS.downMs),
    },
    "budget-s": { type: "string", default: process.env.DLOCK_CATCHUP_BUDGET_S ?? "900" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

const CLUSTER_ID = "dlock-catchup-measure";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function summarize(rounds: CatchUpRound[]): void {
  const grants = rounds
    .map((r) => r.killToGrantMs)
    .filter((ms): ms is number => ms !== null)
    .sort((a, b) => a - b);
  const outages = rounds.map((r) => r.longestOutageMs).sort((a, b) => a - b);
  const ratio = rounds.map((r) => r.sentToRestartedBytes / Math.max(1, r.lackedBytes));
  const rss = rounds.flatMap((r) => Object.values(r.rssPeakBytes).filter((b) => b !== null));
  const extraElections = rounds.filter((r) => r.elections > 1).length;
  say(
    `summary over ${rounds.length} rounds: kill→grant p50 ${Math.round(percentile(grants, 0.5))} ms, ` +
      `max ${Math.round(grants.at(-1) ?? Number.NaN)} ms; longest outage p50 ` +
      `${Math.round(percentile(outages, 0.5))} ms, max ${Math.round(outages.at(-1) ?? Number.NaN)} ms; ` +
      `sent/lacked max ${Math.max(...ratio).toFixed(2)}; peak RSS max ` +
      `${(Math.max(...rss) / 1024 / 1024).toFixed(1)} MiB; rounds with more than one election: ` +
      `${extraElections}`,
  );
}

async function main(): Promise<void> {
  const rounds = positiveInteger("rounds", values.rounds, USAGE);
  const clients = positiveInteger("clients", values.clients, USAGE);
  const downMs = positiveInteger("down-ms", values["down-ms"], USAGE);
  const budgetS = positiveInteger("budget-s", values["budget-s"], USAGE);
  const ok = await inScratchFolder("dlock-catchup-", values.keep, async (root) => {
    say(
      `three nodes (fsync on) in ${root}; ${rounds} rounds, ${clients} clients, down ${downMs} ms`,
    );
    const budget = setTimeout(() => {
      process.stderr.write(`budget of ${budgetS} s spent; stopping (data in ${root})\n`);
      process.exit(2);
    }, budgetS * 1000);
    budget.unref();
    const cluster = await LocalCluster.start({ root, clusterId: CLUSTER_ID, fsync: true });
    try {
      const report = await runCatchUpRounds({
        cluster,
        clusterId: CLUSTER_ID,
        rounds,
        clients,
        downMs,
        say,
      });
      summarize(report.rounds);
      say(`${report.grants} grants; ${report.failures.length} failed client operations`);
      for (const failure of report.failures.slice(0, 20)) say(`  ${failure}`);
      const problems = checkCatchUpBounds(report);
      for (const problem of problems) say(`BOUND BROKEN: ${problem}`);
      return problems.length === 0;
    } finally {
      clearTimeout(budget);
      await cluster.stop();
    }
  });
  if (!ok) process.exitCode = 1;
}

runMeasureScript(USAGE, values.help, main);
