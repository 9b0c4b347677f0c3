// The CI chaos run: about two minutes of faults against three real servers (fsync on).
import { describe, expect, it } from "vitest";
import { formatSummary } from "../src/summary-format.js";
import { runChaos } from "../src/run-chaos.js";

const DURATION_MS = Number(process.env.CHAOS_DURATION_MS ?? 100_000);
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe("chaos against real processes", () => {
  it(
    `keeps every lock exclusive and fenced, every semaphore within N, every writer alone, one leader per election, under faults (seed ${SEED}; replay: CHAOS_SEED=${SEED})`,
    async () => {
      console.log(
        `chaos run seed ${SEED} (replay the fault schedule: pnpm test:chaos --seed ${SEED})`,
      );
      const summary = await runChaos({ durationMs: DURATION_MS, seed: SEED });
      console.log(formatSummary(summary));
      expect(summary.violations).toBe(0);
      // A key whose search ran out of budget was neither proven nor refuted: that proves nothing.
      expect(summary.undecidedKeys).toEqual([]);
      expect(summary.operationsPerSecond).toBeGreaterThan(0);
      expect(summary.grants).toBeGreaterThan(100);
      expect(summary.faultsTotal).toBeGreaterThan(10);
      expect(summary.writes.accepted).toBeGreaterThan(100);
      // The hard cases happened: holders lost locks, and stale (zombie) writes were refused.
      expect(summary.lostGrants).toBeGreaterThan(0);
      expect(summary.writes.rejected).toBeGreaterThan(0);
      // Every primitive ran, and its check saw its grants.
      expect(Object.keys(summary.clientsByKind)).toEqual([
        "lock",
        "semaphore",
        "rw",
        "campaign",
        "observe",
      ]);
      expect(summary.grantsByPrimitive.semaphore).toBeGreaterThan(10);
      expect(summary.grantsByPrimitive.rw).toBeGreaterThan(10);
      expect(summary.grantsByPrimitive.election).toBeGreaterThan(5);
      expect(summary.leadersObserved).toBeGreaterThan(summary.grantsByPrimitive.election);
      // After the heal every primitive was usable again within the bound (a failure is a violation).
      expect(summary.liveness.worstMsByPrimitive).toEqual({
        lock: expect.any(Number),
        semaphore: expect.any(Number),
        rw: expect.any(Number),
        election: expect.any(Number),
      });
      const checked = summary.checks.map((check) => check.name.split(":")[0]);
      expect(checked).toEqual(
        expect.arrayContaining(["locks", "semaphores", "rw locks", "elections"]),
      );
    },
    DURATION_MS + 180_000,
  );
});
