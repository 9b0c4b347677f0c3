// One chaos run: start the proxied cluster, run the workload and the nemesis for the duration,
// heal everything, let every client finish, use every primitive once more (liveness), then check the
// history. Failing runs save their timeline under `runsDir`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ELECTION_KEY_PREFIX } from "@dlock/client";
import { FencedResource, Prng } from "@dlock/testkit";
import { ChaosCluster } from "./chaos-cluster.js";
import { checkEveryPrimitive } from "./checks.js";
import { checkLinearizability } from "./linearizability-check.js";
import type { LinearizabilityCheckResult } from "./linearizability-check.js";
import type { CheckResult } from "./checks.js";
import { History } from "./history.js";
import { probeLiveness } from "./liveness.js";
import type { LivenessResult } from "./liveness.js";
import { Nemesis } from "./nemesis.js";
import type { FaultKind } from "./nemesis.js";
import type { ClientMixEntry } from "./workload.js";
import { DEFAULT_CHAOS_CLIENTS, Workload } from "./workload.js";
import { ChaosWatcher, checkWatch } from "./watch-check.js";

export interface ChaosOptions {
  durationMs: number;
  seed: number;
  nodes?: number;
  clients?: number;
  keys?: number;
  /** The kinds of clients and their shares (default DEFAULT_CLIENT_MIX: every primitive). */
  mix?: readonly ClientMixEntry[];
  /** Linearizability search steps per key (default STEP_BUDGET_PER_KEY). */
  stepBudget?: number;
  /** Where failing runs' timelines go. */
  runsDir?: string;
  /** Progress lines (one every few seconds). */
  progress?: (line: string) => void;
}

export interface ChaosSummary {
  seed: number;
  durationMs: number;
  operations: number;
  operationsPerSecond: number;
  outcomes: Record<string, number>;
  grants: number;
  /** Clients of each kind (lock, semaphore, campaign, observe, …). */
  clientsByKind: Record<string, number>;
  /** Of the grants: lock grants, semaphore permit grants, rw grants, election leaderships. */
  grantsByPrimitive: { lock: number; semaphore: number; rw: number; election: number };
  /** Leaders reported by election observers, over how many observe() calls. */
  leadersObserved: number;
  observations: number;
  /** Grants whose holder declared them lost (refresh refused or validity ran out) during faults. */
  lostGrants: number;
  writes: { accepted: number; rejected: number };
  faults: Partial<Record<FaultKind, number>>;
  faultsTotal: number;
  /** Time the final acquires of every primitive took after the heal, and the bound they had. */
  liveness: LivenessResult;
  checks: CheckResult[];
  violations: number;
  /** Keys whose linearizability search ran out of steps: neither proven nor refuted. */
  undecidedKeys: string[];
  timelineFile: string | null;
}

const TICK_MS = 20;
const ELECTION_TICKS = 10;
/** 5 election timeouts: the shortest TTL the servers accept with these ticks. */
const TTL_MS = 5 * TICK_MS * ELECTION_TICKS;

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const prng = new Prng(options.seed);
  const history = new History();
  const progress = options.progress ?? (() => {});
  const root = await mkdtemp(join(tmpdir(), "dlock-chaos-"));
  const chaos = await ChaosCluster.start({
    root,
    nodes: options.nodes ?? 3,
    random: () => prng.float(),
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
  });
  let summary: ChaosSummary | null = null;
  try {
    await chaos.cluster.waitForLeader(60_000);
    await chaos.cluster.waitForReady(60_000);
    const resource = new FencedResource(() => history.now());
    const workload = new Workload({
      endpoints: chaos.endpoints(),
      clients: options.clients ?? DEFAULT_CHAOS_CLIENTS,
      keys: options.keys ?? 4,
      ttlMs: TTL_MS,
      prng: prng.fork(),
      history,
      resource,
      ...(options.mix === undefined ? {} : { mix: options.mix }),
    });
    const nemesis = new Nemesis(chaos, {
      prng: prng.fork(),
      history,
      ttlMs: TTL_MS,
      faultMs: [500, 3_000],
      calmMs: [300, 1_500],
    });
    const watcher = new ChaosWatcher(chaos.endpoints(), "key-");
    await watcher.start();
    const started = performance.now();
    workload.start();
    nemesis.start();
    const ticker = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      progress(
        `${elapsed.toFixed(0)}s: ${history.ops.length} operations, ${history.beliefs.length} grants, ${history.faults.length} fault events`,
      );
    }, 10_000);
    await sleep(options.durationMs);
    clearInterval(ticker);

    progress("healing: network restored, paused nodes resumed, killed nodes restarted");
    await nemesis.stop();
    chaos.healNetwork();
    for (const node of chaos.cluster.nodes) {
      if (node.process === null) chaos.cluster.restart(node.id);
      else chaos.cluster.resume(node.id);
    }
    history.fault("heal: every fault removed");
    await workload.stop();
    const runMs = performance.now() - started;
    const liveness = await probeLiveness(chaos, history, {
      keys: options.keys ?? 4,
      ttlMs: TTL_MS,
      electionMs: 2 * TICK_MS * ELECTION_TICKS,
    });
    await watcher.stop(history, 30_000);

    const endMs = history.now();
    const checks = [
      ...checkEveryPrimitive(history, endMs),
      checkLinearizability(history, options.stepBudget),
      checkWatch(history, watcher),
    ];
    const outcomes: Record<string, number> = {};
    for (const op of history.ops) {
      const name = `${op.kind}:${op.outcome}`;
      outcomes[name] = (outcomes[name] ?? 0) + 1;
    }
    const violations =
      checks.reduce((sum, c) => sum + c.violations.length, 0) + liveness.failures.length;
    const undecidedKeys = checks.flatMap(
      (c) => (c as Partial<LinearizabilityCheckResult>).undecidedKeys ?? [],
    );
    const faults = Object.fromEntries(nemesis.counts) as Partial<Record<FaultKind, number>>;
    summary = {
      seed: options.seed,
      durationMs: Math.round(runMs),
      operations: history.ops.length,
      operationsPerSecond: Math.round(history.ops.length / (runMs / 1000)),
      outcomes,
      grants: history.beliefs.length,
      clientsByKind: { ...workload.clientsByKind },
      grantsByPrimitive: grantsByPrimitive(history),
      leadersObserved: history.observations.reduce((sum, o) => sum + o.reports.length, 0),
      observations: history.observations.length,
      lostGrants: history.beliefs.filter((belief) => belief.endReason === "lost").length,
      writes: {
        accepted: history.writes.filter((w) => w.accepted).length,
        rejected: history.writes.filter((w) => !w.accepted).length,
      },
      faults,
      faultsTotal: [...nemesis.counts.values()].reduce((a, b) => a + b, 0),
      liveness,
      checks,
      violations,
      undecidedKeys,
      timelineFile: null,
    };
    if (violations > 0 || undecidedKeys.length > 0) {
      const header = [
        `dlock chaos run, seed ${options.seed}: ${violations} violation(s), ` +
          `linearizability undecided for ${undecidedKeys.length} key(s) ${undecidedKeys.join(" ")}`,
        ...checks.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`)),
        ...liveness.failures.map((f) => `liveness: ${f}`),
      ].join("\n");
      summary.timelineFile = await history.save(
        options.runsDir ?? ".chaos-runs",
        `seed-${options.seed}-${Date.now()}`,
        header,
      );
    }
    return summary;
  } finally {
    await chaos.stop();
    if (summary !== null && summary.violations === 0)
      await rm(root, { recursive: true, force: true });
    else progress(`node data and logs kept in ${root}`);
  }
}

function grantsByPrimitive(history: History): ChaosSummary["grantsByPrimitive"] {
  const counts = { lock: 0, semaphore: 0, rw: 0, election: 0 };
  for (const belief of history.beliefs) {
    if (belief.permit !== undefined) counts.semaphore++;
    else if (belief.rw !== undefined) counts.rw++;
    else if (belief.key.startsWith(ELECTION_KEY_PREFIX)) counts.election++;
    else counts.lock++;
  }
  return counts;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
