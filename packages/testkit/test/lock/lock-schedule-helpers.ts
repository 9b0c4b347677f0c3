import { describe, expect, it } from "vitest";
import type { LockSimSummary } from "../../src/lock/lock-check.js";
import {
  checkLockSchedules,
  emptyLockSummary,
  formatLockFailure,
  mergeLockSummaries,
} from "../../src/lock/lock-check.js";
import { missingLockEvents } from "../../src/lock/lock-events.js";
import { LOCK_PROFILES } from "../../src/lock/lock-plan-arbitrary.js";
import { scheduleSeed, SHARE_TIMEOUT_MS } from "../schedule-helpers.js";

function describeCounts(summary: LockSimSummary): string {
  const list = (record: object): string =>
    Object.entries(record)
      .map(([kind, count]) => `${kind} ${count as number}`)
      .join(", ");
  return [
    `node faults: ${list(summary.faults)}; crashes ${summary.crashes} ` +
      `(${summary.crashesLosingWrites} lost unsynced writes, ${summary.tornWrites} torn)`,
    `client faults: ${list(summary.clientFaults)}`,
    `events: ${list(summary.events)}`,
    `clients: ${list(summary.clients)}`,
    `requests ${summary.requests} (${summary.requestsUnanswered} unanswered), ` +
      `beliefs ${summary.beliefs}, writes ${summary.writesAccepted} accepted / ` +
      `${summary.writesRejected} rejected, operations linearized ${summary.linearizedOperations}, ` +
      `undecided keys ${summary.undecidedKeys}, slowest recovery ${summary.recoveryMsMax.toFixed(0)} ms`,
    `semaphores: ${summary.semaphoreSchedules} schedules with semaphore clients, ` +
      `${summary.clients.permitGrantsTaken} permit grants, ${summary.permitBeliefs} permit beliefs`,
    `rw locks: ${summary.rwSchedules} schedules with reader-writer clients, ` +
      `${summary.clients.rwGrantsTaken} read/write grants, ${summary.rwBeliefs} rw beliefs`,
    `elections: ${summary.electionSchedules} schedules with campaigners, ` +
      `${summary.clients.leadershipsTaken} leaderships, ${summary.observations} observers ` +
      `reporting ${summary.clients.leadersObserved} leaders`,
  ].join("\n  ");
}

/**
 * One share of the ≥ 2,000 generated lock schedules `pnpm test` runs: `perProfile` schedules of
 * each lock profile on `nodeCount`-node clusters, each batch from its own seed (SIM_SEED replays a
 * CI run). The shares live in separate files so vitest spreads them over the cores.
 */
export function describeLockScheduleShare(
  nodeCount: 3 | 5,
  part: number,
  perProfile: number,
): void {
  describe(`generated lock schedules, ${nodeCount} nodes (part ${part})`, () => {
    it(
      "finds no violation of any lock or Raft property, recovers, and meets every hard case",
      async () => {
        const total = emptyLockSummary();
        for (const [i, lockProfile] of LOCK_PROFILES.entries()) {
          const seed = scheduleSeed(1000 + nodeCount * 100 + part * 10 + i);
          const started = Date.now();
          const result = await checkLockSchedules({
            numRuns: perProfile,
            seed,
            nodeCounts: [nodeCount],
            lockProfile,
          });
          console.log(
            `${nodeCount} nodes, part ${part}, ${lockProfile}: seed ${seed}, ` +
              `${result.summary.schedules} schedules in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          );
          if (result.failure) expect.fail(formatLockFailure(result.failure));
          mergeLockSummaries(total, result.summary);
        }
        const schedules = perProfile * LOCK_PROFILES.length;
        console.log(`${nodeCount} nodes, part ${part}, totals:\n  ${describeCounts(total)}`);
        expect(total.schedules).toBe(schedules);
        expect(total.byNodeCount[nodeCount]).toBe(schedules);
        // The schedules must exercise the hard cases, or zero violations means nothing.
        expect(missingLockEvents(total.events)).toEqual([]);
        expect(total.events.nodePauseLongerThanTtl).toBeGreaterThan(0);
        expect(total.events.clientPauseLongerThanTtl).toBeGreaterThan(schedules / 10);
        expect(total.events.wallClockJumps).toBeGreaterThan(schedules / 10);
        expect(total.events.waiterGrants).toBeGreaterThan(schedules / 10);
        expect(total.events.expiries).toBeGreaterThan(schedules / 5);
        expect(total.faults.crash).toBeGreaterThan(schedules / 2);
        expect(total.faults.partition).toBeGreaterThan(schedules / 2);
        expect(total.faults.pause).toBeGreaterThan(schedules / 10);
        expect(total.clientFaults.clientPause).toBeGreaterThan(schedules / 4);
        expect(total.clientFaults.clientCrash).toBeGreaterThan(schedules / 4);
        expect(total.clientFaults.clientPartition).toBeGreaterThan(schedules / 4);
        expect(total.crashesLosingWrites).toBeGreaterThan(schedules / 20);
        // Crashes that tore unsynced writes: 24–29 in four sampled shares of 252 schedules with
        // aimed crashes (about 1 in 27 schedules without them).
        expect(total.tornWrites).toBeGreaterThan(schedules / 50);
        expect(total.clients.locksTaken).toBeGreaterThan(schedules);
        expect(total.clients.locksLost).toBeGreaterThan(schedules / 10);
        expect(total.clients.renewals).toBeGreaterThan(0);
        expect(total.clients.lateRefreshes).toBeGreaterThan(0);
        expect(total.clients.staleReleasesRefused).toBeGreaterThan(0);
        expect(total.writesAccepted).toBeGreaterThan(schedules * 10);
        expect(total.linearizedOperations).toBeGreaterThan(schedules * 10);
        // Semaphore clients run in about 3 of 4 schedules (SEMAPHORE_SCHEDULE_PERMILLE).
        expect(total.semaphoreSchedules).toBeGreaterThan(schedules / 2);
        expect(total.clients.permitGrantsTaken).toBeGreaterThan(schedules / 2);
        // Reader-writer clients too (RW_SCHEDULE_PERMILLE), each checked for writer exclusion.
        expect(total.rwSchedules).toBeGreaterThan(schedules / 2);
        expect(total.clients.rwGrantsTaken).toBeGreaterThan(schedules / 2);
        // Campaigners and an observer run in about 7 of 10 (ELECTION_SCHEDULE_PERMILLE).
        expect(total.electionSchedules).toBeGreaterThan(schedules / 2);
        expect(total.clients.leadershipsTaken).toBeGreaterThan(schedules / 2);
        expect(total.observations).toBeGreaterThan(schedules / 2);
        expect(total.clients.leadersObserved).toBeGreaterThan(schedules);
        // A key whose search ran out of steps proves nothing: they must stay rare.
        expect(total.undecidedKeys).toBeLessThanOrEqual(schedules / 50);
      },
      SHARE_TIMEOUT_MS,
    );
  });
}
