// Issue 3, "what it must show" #1: three `dlock server` processes form a cluster; a client in
// another process acquires, refreshes past several TTLs and releases; a second client is refused
// after exactly 1 + retryLimit attempts spaced by retryInterval, then gets the lock after the
// release; fencing tokens only increase.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockBusyError } from "@dlock/client";
import { startTestCluster, TTL_FLOOR_MS } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { CountingTransport } from "./support/counting-transport.js";
import { startFixtureClient } from "./support/fixture-client.js";
import type { FixtureClient } from "./support/fixture-client.js";
import { sumMetric, sumSeries } from "./support/metrics.js";
import { sleep } from "./support/wait.js";
import { createLocker } from "@dlock/client/internal";

const TTL_MS = TTL_FLOOR_MS;
const RETRY_LIMIT = 3;
const RETRY_INTERVAL_MS = 300;
/** How long the holder keeps the lock: several TTLs, so only refreshes keep it. */
const HOLD_TTLS = 4;

let test: TestCluster;
let holder: FixtureClient | null = null;

beforeAll(async () => {
  test = await startTestCluster("lifecycle");
});

afterAll(async () => {
  await holder?.kill();
  await test?.dispose();
});

describe("a three-process cluster serving two clients", () => {
  it("keeps a refreshed lock past several TTLs, refuses a second client after exactly retryLimit retries, hands it over after release", async () => {
    const endpoints = test.cluster.endpoints();
    const tokens: number[] = [];

    holder = await startFixtureClient({ endpoints, trace: true });
    const locked = await holder.request(
      { op: "lock", key: "job", value: "holder-A", options: { ttl: TTL_MS } },
      "locked",
    );
    const tokenA = locked.token as number;
    expect(locked.ttlMs).toBe(TTL_MS);
    tokens.push(tokenA);
    const lockedAt = performance.now();

    const transport = new CountingTransport();
    const second = createLocker({ endpoints, transport });
    try {
      // The second client is refused: 1 + RETRY_LIMIT attempts, each answered LOCK_BUSY.
      const busyBefore = await sumMetric(test.cluster, "dlock_client_requests_total", {
        type: "acquire",
        result: "LOCK_BUSY",
      });
      const refused = await second
        .lock("job", "client-B", {
          ttl: TTL_MS,
          retryLimit: RETRY_LIMIT,
          retryInterval: RETRY_INTERVAL_MS,
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(LockBusyError);
      const busy = transport.answered("acquire", "LOCK_BUSY");
      expect(busy).toHaveLength(1 + RETRY_LIMIT);
      // No acquire of this call was granted or left unanswered (redirects aside).
      expect(
        transport.requests.filter(
          (r) => r.type === "acquire" && r.outcome !== "LOCK_BUSY" && r.outcome !== "NOT_LEADER",
        ),
      ).toEqual([]);
      for (let i = 1; i < busy.length; i++) {
        // Node timers may fire up to a millisecond early against performance.now().
        expect(busy[i].sentAtMs - busy[i - 1].sentAtMs).toBeGreaterThanOrEqual(
          RETRY_INTERVAL_MS - 2,
        );
      }
      const busyAfter = await sumMetric(test.cluster, "dlock_client_requests_total", {
        type: "acquire",
        result: "LOCK_BUSY",
      });
      expect(busyAfter - busyBefore).toBe(1 + RETRY_LIMIT);

      // The holder keeps the lock for several TTLs: same holder, same token, all along.
      while (performance.now() - lockedAt < HOLD_TTLS * TTL_MS) {
        const seen = await second.get("job");
        expect(seen).toMatchObject({ held: true, value: "holder-A", fencingToken: tokenA });
        await sleep(TTL_MS / 4);
      }
      const state = await holder.request({ op: "state" }, "state");
      expect(state).toMatchObject({ state: "held", signalAborted: false });
      expect(holder.events.filter((e) => e.event.startsWith("lost-"))).toEqual([]);
      const refreshes = holder.events.filter(
        (e) => e.event === "response" && e.type === "refresh" && e.outcome === "ok",
      );
      expect(refreshes.length).toBeGreaterThanOrEqual(HOLD_TTLS);

      const released = await holder.request({ op: "release" }, "released");
      expect(released).toMatchObject({ released: true, lost: false, stateAfter: "released" });
      expect(await second.get("job")).toMatchObject({ held: false, value: null });

      // After the release the second client gets it, with a larger token.
      const lockB = await second.lock("job", "client-B", { ttl: TTL_MS });
      tokens.push(lockB.fencingToken);
      expect(await second.get("job")).toMatchObject({
        held: true,
        value: "client-B",
        fencingToken: lockB.fencingToken,
      });
      expect(await lockB.release()).toEqual({ released: true, lost: false });

      // And the first client once more: tokens keep increasing.
      const again = await holder.request(
        { op: "lock", key: "job", value: "holder-A", options: { ttl: TTL_MS } },
        "locked",
      );
      tokens.push(again.token as number);
      expect((await holder.request({ op: "release" }, "released")).released).toBe(true);
    } finally {
      await second.close();
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
    expect(holder.events.filter((e) => e.event.startsWith("lost-"))).toEqual([]);
  });

  it("runs with fsync on: every node counts synced writes in /metrics", async () => {
    // The lifecycle above committed entries; every member synced them to its log.
    for (const node of test.cluster.nodes) {
      const response = await fetch(`http://${node.httpAddress}/metrics`);
      const synced = sumSeries(
        await response.text(),
        "dlock_storage_fsync_duration_seconds_count",
        {},
      );
      expect(synced, `${node.id} synced writes`).toBeGreaterThan(0);
    }
  });
});
