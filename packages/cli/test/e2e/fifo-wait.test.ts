// Issue 3, "what it must show" #3: five clients queued with `wait` on one key get the lock in
// arrival order, each as soon as the previous one releases, with no polling: the servers answer
// exactly one acquire per client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import type { Lock } from "@dlock/client";
import { startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { sumMetric } from "./support/metrics.js";
import { sleep, waitFor } from "./support/wait.js";

const WAITERS = 5;
/**
 * Long leases: were a handoff to come from an expiry rather than from the release, it would take
 * this long; every handoff below must come far sooner.
 */
const TTL_MS = 30_000;
const HANDOFF_BOUND_MS = 5_000;
/** How long each waiter holds the lock once granted. */
const HOLD_MS = 100;

let test: TestCluster;

beforeAll(async () => {
  // A 1 s election timeout: a leader change mid-test (a stall on a loaded machine) would make
  // the queued clients ask the new leader again, and the exact acquire count below would not hold.
  test = await startTestCluster("fifo", { electionTicks: 50 });
});

afterAll(async () => {
  await test?.dispose();
});

describe("fair waiting", () => {
  it("grants five queued clients in arrival order, one handoff per release, one acquire each", async () => {
    const endpoints = test.cluster.endpoints();
    const observer = new Locker({ endpoints });
    const first = new Locker({ endpoints });
    const waiters = Array.from({ length: WAITERS }, () => new Locker({ endpoints }));
    try {
      const holder = await first.lock("queue", "first", { ttl: TTL_MS });
      const acquiresBefore = await acquireAnswers();

      const grants: Array<{ index: number; token: number; grantedAt: number }> = [];
      const releasedAt: number[] = [];
      const runs: Array<Promise<void>> = [];
      for (let index = 0; index < WAITERS; index++) {
        runs.push(
          (async () => {
            const lock: Lock = await waiters[index].lock("queue", `waiter-${index}`, {
              ttl: TTL_MS,
              wait: "60s",
            });
            grants.push({ index, token: lock.fencingToken, grantedAt: performance.now() });
            await sleep(HOLD_MS);
            releasedAt[index] = performance.now();
            expect(await lock.release()).toEqual({ released: true, lost: false });
          })(),
        );
        // Arrival order: the next waiter sends its acquire only once this one is queued.
        await waitFor(`waiter ${index} queued`, async () => {
          const seen = await observer.get("queue");
          return seen.waiters === index + 1;
        });
      }
      const releasedFirstAt = performance.now();
      expect(await holder.release()).toEqual({ released: true, lost: false });
      await Promise.all(runs);

      expect(grants.map((g) => g.index)).toEqual([0, 1, 2, 3, 4]);
      const tokens = [holder.fencingToken, ...grants.map((g) => g.token)];
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
      const handoffs = grants.map(
        (g, i) => g.grantedAt - (i === 0 ? releasedFirstAt : releasedAt[grants[i - 1].index]),
      );
      for (const handoffMs of handoffs) {
        expect(handoffMs).toBeGreaterThanOrEqual(0); // never before the previous release
        expect(handoffMs).toBeLessThan(HANDOFF_BOUND_MS); // by the release, not an expiry
      }
      // No polling: the servers answered exactly one acquire per waiter (redirects aside).
      expect((await acquireAnswers()) - acquiresBefore).toBe(WAITERS);
      expect(await observer.get("queue")).toMatchObject({ held: false, waiters: 0 });
      console.info(
        `FIFO handoffs after each release (ms): ${handoffs.map((h) => h.toFixed(1)).join(", ")}`,
      );
    } finally {
      await Promise.all([observer, first, ...waiters].map((l) => l.close()));
    }
  });
});

/** Acquire requests the servers answered, other than NOT_LEADER redirects. */
function acquireAnswers(): Promise<number> {
  return sumMetric(
    test.cluster,
    "dlock_client_requests_total",
    { type: "acquire" },
    { result: "NOT_LEADER" },
  );
}
