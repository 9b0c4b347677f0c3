// The end of every CI fuzz test: run one port's fuzzer against the cluster for at most
// `inputs` inputs or `budgetMs`, print the summary, and require no failure and some inputs sent.
import { expect } from "vitest";
import type { FuzzCluster } from "../../src/fuzz-cluster.js";
import type { PortFuzzer } from "../../src/ports.js";
import { runPort } from "../../src/run-fuzz.js";
import { formatPortSummary } from "../../src/summary-format.js";

export async function expectCleanRun<I>(
  fuzzer: PortFuzzer<I>,
  run: { fuzz: FuzzCluster; seed: number; inputs: number; budgetMs: number },
): Promise<void> {
  const summary = await runPort(fuzzer, {
    fuzz: run.fuzz,
    seed: run.seed,
    inputs: run.inputs,
    deadlineMs: Date.now() + run.budgetMs,
    includeOpen: false,
  });
  console.log(formatPortSummary(summary, false));
  expect(summary.failure, `seed ${run.seed}`).toBeNull();
  expect(summary.inputs).toBeGreaterThan(0);
}
