// Runs fast-check over one port's inputs against a FuzzCluster, in batches: after every batch the
// cluster-wide properties are checked, so a failing batch shrinks to the smallest set of inputs
// (and smallest inputs) that still breaks one of them.
import fc from "fast-check";
import type { FuzzCluster, NodeView } from "./fuzz-cluster.js";
import { FUZZ_DEFAULTS } from "./fuzz-options.js";
import type { PortFuzzer, PortName, Targeted } from "./ports.js";

export interface PortRunOptions {
  fuzz: FuzzCluster;
  seed: number;
  /** Inputs to send (batches stop once this many were sent). */
  inputs: number;
  /** Connections open at once within a batch (default FUZZ_DEFAULTS.concurrency). */
  concurrency?: number;
  /** Most inputs in one batch (default FUZZ_DEFAULTS.batchSizeMax). */
  batchSizeMax?: number;
  /** Exploration stops at this time (ms since epoch); shrinking a failure may take a little more. */
  deadlineMs: number;
  /** Replays one counterexample (fast-check path) instead of exploring. */
  path?: string;
  includeOpen: boolean;
  /** Called every few seconds with a progress line. */
  progress?: (line: string) => void;
  progressEveryMs?: number;
}

export interface PortRunSummary {
  port: PortName;
  seed: number;
  inputs: number;
  batches: number;
  /** Hostile inputs generated but not sent (see known-findings.ts). */
  skippedHostile: number;
  /** Inputs sent that a member may rightly use to move the leadership (weaker properties). */
  memberInputs: number;
  /** Leader changes during a batch that did not happen again when the batch was replayed. */
  unconfirmedLeaderChanges: number;
  elapsedMs: number;
  inputsPerSecond: number;
  rssBytesMax: Record<string, number>;
  interrupted: boolean;
  failure: null | {
    problems: string;
    counterexample: string;
    path: string;
    shrinks: number;
  };
}

function leaderChanges(before: readonly NodeView[], after: readonly NodeView[]): string[] {
  const changes: string[] = [];
  for (const b of before) {
    const a = after.find((v) => v.id === b.id);
    if (a === undefined) continue;
    if (a.term !== b.term || a.leader !== b.leader) {
      changes.push(`${b.id}: term ${b.term} → ${a.term}, leader ${b.leader} → ${a.leader}`);
    }
  }
  return changes;
}

async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!); // i < items.length: the loop's test, just before
      }
    }),
  );
  return results;
}

class BatchFailure extends Error {}

export async function runPort<I>(
  fuzzer: PortFuzzer<I>,
  options: PortRunOptions,
): Promise<PortRunSummary> {
  const { fuzz } = options;
  const started = Date.now();
  const summary: PortRunSummary = {
    port: fuzzer.name,
    seed: options.seed,
    inputs: 0,
    batches: 0,
    skippedHostile: 0,
    memberInputs: 0,
    unconfirmedLeaderChanges: 0,
    elapsedMs: 0,
    inputsPerSecond: 0,
    rssBytesMax: {},
    interrupted: false,
    failure: null,
  };
  /** The batch being checked: fast-check's time limit returns without waiting for it. */
  let inFlight: Promise<unknown> = Promise.resolve();
  // Once a batch failed, every run is a shrink attempt and must really run.
  let shrinking = options.path !== undefined;

  const sendBatch = async (batch: readonly Targeted<I>[], views: readonly NodeView[]) => {
    const results = await runPool(batch, options.concurrency ?? FUZZ_DEFAULTS.concurrency, (item) =>
      fuzzer.send(item, { fuzz, views, includeOpen: options.includeOpen }),
    );
    const sent = results.filter((r) => !r.skipped);
    summary.inputs += sent.length;
    summary.skippedHostile += results.length - sent.length;
    summary.memberInputs += sent.filter((r) => r.hostile).length;
    return {
      problems: results.flatMap((r) => r.problems),
      hostile: sent.some((r) => r.hostile),
    };
  };

  const checkBatch = async (batch: readonly Targeted<I>[]): Promise<string[]> => {
    const dead = await fuzz.deadOrCrashed();
    if (dead.length > 0) {
      // Shrinking needs a running cluster: start what died (after the report was taken).
      await fuzz.restartDead();
      return dead;
    }
    try {
      await fuzz.waitHealthy(FUZZ_DEFAULTS.healthyTimeoutMs);
    } catch {
      // An earlier batch (the failure being shrunk) left the cluster without a leader for good.
      await fuzz.recreate();
    }
    const before = await fuzz.views();
    const { problems, hostile } = await sendBatch(batch, before);
    problems.push(...(await fuzz.deadOrCrashed()));
    if (problems.length > 0) return problems;
    if (!hostile) {
      const changes = leaderChanges(before, await fuzz.views());
      if (changes.length > 0) {
        // The machine is shared and loaded: count the change against the input only if the same
        // batch changes the leader again on a settled cluster. One that does not settle is a
        // finding either way.
        try {
          await fuzz.waitHealthy(FUZZ_DEFAULTS.healthyTimeoutMs);
        } catch (error) {
          const views = await fuzz.views().catch(() => []);
          return [
            `leader change (${changes.join("; ")}), then no leader agreed on: ${String(error)}; ${JSON.stringify(views)}`,
          ];
        }
        const again = await fuzz.views();
        await sendBatch(batch, again);
        const confirmed = leaderChanges(again, await fuzz.views());
        if (confirmed.length > 0) {
          return [
            `leader change caused by unauthenticated or malformed input: ${confirmed.join("; ")}`,
          ];
        }
        summary.unconfirmedLeaderChanges++;
      }
    }
    // A hostile batch may rightly have moved the leadership: the rest holds once it settled.
    try {
      await fuzz.waitHealthy(FUZZ_DEFAULTS.healthyTimeoutMs);
    } catch (error) {
      const views = await fuzz.views().catch(() => []);
      return [
        `the cluster did not settle on a leader afterwards: ${String(error)}; ${JSON.stringify(views)}`,
      ];
    }
    // Only the client port can ask for a membership change, and no fuzzer connection may make one.
    if (fuzzer.name === "client") {
      const changed = await fuzz.membershipChanges();
      if (changed.length > 0) return changed.map((c) => `membership changed: ${c}`);
    }
    const lost = await fuzz.lostSeededLocks();
    if (lost.length > 0) return lost.map((l) => `seeded lock lost: ${l}`);
    for (const [id, rss] of fuzz.rssBytes()) {
      summary.rssBytesMax[id] = Math.max(summary.rssBytesMax[id] ?? 0, rss);
      if (rss > FUZZ_DEFAULTS.rssBytesMax) {
        return [
          `${id} RSS ${Math.round(rss / 2 ** 20)} MiB over the ${FUZZ_DEFAULTS.rssBytesMax / 2 ** 20} MiB bound`,
        ];
      }
    }
    try {
      await fuzz.canaryLock();
    } catch (error) {
      return [`a normal client could not take and release a lock: ${String(error)}`];
    }
    return [];
  };

  const property = fc.asyncProperty(
    // size "max": batch lengths spread over the whole range, so the checks cost little per input.
    fc.array(fuzzer.arb, {
      minLength: 1,
      maxLength: options.batchSizeMax ?? FUZZ_DEFAULTS.batchSizeMax,
      size: "max",
    }),
    async (batch) => {
      if (!shrinking && (summary.inputs >= options.inputs || Date.now() >= options.deadlineMs))
        return;
      summary.batches++;
      const run = checkBatch(batch);
      inFlight = run;
      const problems = await run;
      if (problems.length > 0) {
        shrinking = true;
        throw new BatchFailure(problems.join("\n"));
      }
    },
  );

  const progressTimer = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    const rss = [...fuzz.rssBytes()]
      .map(([id, b]) => `${id} ${Math.round(b / 2 ** 20)}MiB`)
      .join(" ");
    options.progress?.(
      `${fuzzer.name}: ${summary.inputs} inputs in ${summary.batches} batches, ${Math.round(summary.inputs / seconds)}/s, ${Math.round(seconds)}s${shrinking ? " (shrinking a failure)" : ""}; rss ${rss}`,
    );
  }, options.progressEveryMs ?? 5_000);
  try {
    const details = await fc.check(property, {
      seed: options.seed,
      // Enough runs for `inputs` even if batches averaged 4 inputs (they average far more, less
      // the hostile inputs held back); the runs past `inputs` return at once.
      numRuns: options.path === undefined ? Math.ceil(options.inputs / 4) + 10 : 1,
      ...(options.path === undefined ? {} : { path: options.path }),
      // The hard stop, shrinking included: a minute past the exploration deadline.
      interruptAfterTimeLimit: Math.max(1_000, options.deadlineMs - Date.now() + 60_000),
      markInterruptAsFailure: false,
    });
    summary.interrupted = details.interrupted;
    if (details.failed) {
      summary.failure = {
        // A BatchFailure is a finding; anything else is the fuzzer's own failure: keep its stack.
        problems:
          details.errorInstance instanceof BatchFailure
            ? details.errorInstance.message
            : details.errorInstance instanceof Error
              ? `fuzzer error: ${details.errorInstance.stack ?? details.errorInstance.message}`
              : String(details.errorInstance),
        counterexample: fc.stringify(details.counterexample),
        path: details.counterexamplePath ?? "",
        shrinks: details.numShrinks,
      };
    }
  } finally {
    clearInterval(progressTimer);
    // Never leave a batch (or a cluster being recreated) running behind the caller's back.
    await inFlight.catch(() => undefined);
  }
  summary.elapsedMs = Date.now() - started;
  summary.inputsPerSecond = Math.round((summary.inputs / summary.elapsedMs) * 1000);
  return summary;
}
