import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ClusterUnavailableError,
  InvalidArgumentError,
  LockBusyError,
  LockLostError,
  withRetryInterval,
  withRetryLimit,
  withTTL,
} from "../src/index.js";
import type { AcquireRequest, RefreshRequest } from "@dlock/protocol";
import { harness, track } from "./support/harness.js";

describe("Locker.lock on virtual time", () => {
  it("acquires, hands out the fencing token, and releases", async () => {
    const { clock, cluster, locker } = harness();
    const pending = track(locker.lock("orders", "worker-1", { ttl: "10s" }));
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    expect(lock.fencingToken).toBe(cluster.holder("orders")!.token);
    expect(lock.state).toBe("held");
    expect(lock.isValid()).toBe(true);
    const released = track(lock.release());
    await clock.advanceUntil(() => released.done);
    expect(released.value).toEqual({ released: true, lost: false });
    expect(cluster.holder("orders")).toBeNull();
    expect(lock.state).toBe("released");
    // Idempotent: a second release sends nothing and reports the same.
    const before = cluster.requestsOf("release").length;
    expect(await lock.release()).toEqual({ released: true, lost: false });
    expect(cluster.requestsOf("release").length).toBe(before);
    await locker.close();
  });

  it("retries a busy lock exactly retryLimit times, retryInterval apart, then throws LockBusyError", async () => {
    const { clock, cluster, locker } = harness();
    cluster.seize("orders", "someone-else", 60_000);
    const startMs = clock.now();
    const pending = track(
      locker.lock(
        "orders",
        "worker-1",
        withTTL("10s"),
        withRetryLimit(3),
        withRetryInterval("100ms"),
      ),
    );
    await clock.advanceUntil(() => pending.done);
    expect(pending.error).toBeInstanceOf(LockBusyError);
    expect((pending.error as LockBusyError).key).toBe("orders");
    const attempts = cluster.requestsOf("acquire");
    expect(attempts).toHaveLength(4);
    expect(attempts.map((a) => a.atMs - startMs)).toEqual([0, 100, 200, 300]);
    // Each attempt is a new request id (a remembered LOCK_BUSY must not be replayed).
    expect(new Set(attempts.map((a) => (a.request as AcquireRequest).requestId)).size).toBe(4);
    await locker.close();
  });

  it("tries exactly once with the default retryLimit of 0", async () => {
    const { clock, cluster, locker } = harness();
    cluster.seize("orders", "someone-else", 60_000);
    const pending = track(locker.lock("orders", "worker-1"));
    await clock.advanceUntil(() => pending.done);
    expect(pending.error).toBeInstanceOf(LockBusyError);
    expect(cluster.requestsOf("acquire")).toHaveLength(1);
    await locker.close();
  });

  it("gets the lock on a retry once the holder lets go", async () => {
    const { clock, cluster, locker } = harness();
    cluster.seize("orders", "someone-else", 250);
    const pending = track(locker.lock("orders", "worker-1", { retryLimit: 5, retryInterval: 100 }));
    await clock.advanceUntil(() => pending.done);
    expect(pending.value?.fencingToken).toBe(2);
    expect(cluster.requestsOf("acquire").length).toBe(4); // at 0, 100, 200 busy; 300 granted
    await locker.close();
  });

  it("refreshes automatically every refreshInterval and stays valid past many ttls", async () => {
    const { clock, cluster, locker } = harness();
    const pending = track(locker.lock("orders", "worker-1", { ttl: 1_000, refreshInterval: 300 }));
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    const startMs = clock.now();
    await clock.advance(10_000);
    expect(lock.state).toBe("held");
    expect(lock.signal.aborted).toBe(false);
    const refreshes = cluster.requestsOf("refresh");
    expect(refreshes.length).toBe(33);
    expect(refreshes.slice(0, 3).map((r) => r.atMs - startMs)).toEqual([300, 600, 900]);
    expect((refreshes[0].request as RefreshRequest).token).toBe(lock.fencingToken);
    // Valid until the last refresh's send + ttl × (1 − 0.01) − 5 ms.
    expect(lock.validUntilMs).toBe(refreshes[refreshes.length - 1].atMs + 1_000 * 0.99 - 5);
    await lock.release();
    await locker.close();
  });

  it("declares the lock lost at sent + ttl × (1 − drift) − margin when refreshes go unanswered", async () => {
    const { clock, cluster, locker } = harness({ driftFactor: 0.02, marginMs: 10 });
    const sentAtMs = clock.now();
    const pending = track(locker.lock("orders", "worker-1", { ttl: 1_000, refreshInterval: 300 }));
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    expect(lock.validUntilMs).toBe(sentAtMs + 1_000 * 0.98 - 10);
    cluster.nodes.get("n1")!.paused = true; // SIGSTOP: accepts, never answers.
    const lostAt: number[] = [];
    let clusterDeadlineAtLoss = 0;
    lock.onLost((error) => {
      expect(error).toBeInstanceOf(LockLostError);
      lostAt.push(clock.now());
      clusterDeadlineAtLoss = cluster.holder("orders")!.deadlineMs;
    });
    await clock.advance(5_000);
    expect(lostAt).toEqual([sentAtMs + 970]);
    expect(lock.state).toBe("lost");
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(lock.isValid()).toBe(false);
    // Declared lost before the cluster's deadline (sent + ttl): conservative.
    expect(clusterDeadlineAtLoss).toBe(sentAtMs + 1_000);
    await locker.close();
  });

  it("declares the lock lost at once when the cluster refuses a refresh", async () => {
    const { clock, cluster, locker } = harness();
    const pending = track(
      locker.lock("orders", "worker-1", { ttl: 3_000, refreshInterval: 1_000 }),
    );
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    cluster.expire("orders");
    cluster.seize("orders", "thief", 60_000);
    await clock.advance(1_000);
    expect(lock.state).toBe("lost");
    expect(lock.signal.aborted).toBe(true);
    await expect(lock.refresh()).rejects.toBeInstanceOf(LockLostError);
    await locker.close();
  });

  it("declares the lock lost when the server answers a refresh with LOCK_LOST", async () => {
    const { clock, cluster, locker } = harness();
    const pending = track(
      locker.lock("orders", "worker-1", { ttl: 3_000, refreshInterval: 1_000 }),
    );
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    const originalHandle = cluster.handle.bind(cluster);
    cluster.handle = (nodeId, request, reply) => {
      if (request.type !== "refresh") return originalHandle(nodeId, request, reply);
      reply({
        type: "error",
        id: request.id,
        error: { code: "LOCK_LOST", message: "expired", key: "orders" },
      });
    };
    await clock.advance(1_000);
    expect(lock.state).toBe("lost");
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    await locker.close();
  });

  it("reports, without throwing, a release of a lock already lost, and never frees the new holder", async () => {
    const { clock, cluster, locker } = harness();
    const pending = track(locker.lock("orders", "worker-1", { ttl: 1_000, refreshInterval: 0 }));
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    await clock.advance(1_500); // No auto-refresh: lost on the client, expired on the cluster.
    expect(lock.state).toBe("lost");
    cluster.seize("orders", "worker-2", 60_000);
    const released = track(lock.release());
    await clock.advanceUntil(() => released.done);
    expect(released.error).toBeUndefined();
    expect(released.value).toEqual({ released: false, lost: true });
    expect(cluster.holder("orders")?.value).toBe("worker-2");
    await locker.close();
  });

  it("follows NOT_LEADER hints to the leader", async () => {
    const { clock, cluster, transport, locker } = harness({}, "n3");
    const pending = track(locker.lock("orders", "worker-1"));
    await clock.advanceUntil(() => pending.done);
    expect(pending.value?.fencingToken).toBeGreaterThan(0);
    expect(transport.dials).toEqual(["n1:7001", "n3:7001"]);
    expect(cluster.requestsOf("acquire").map((r) => r.nodeId)).toEqual(["n1", "n3"]);
    await locker.close();
  });

  it("tries the next endpoint when a follower does not know the leader", async () => {
    const { clock, cluster, transport, locker } = harness({}, "n3");
    cluster.hideLeader = true;
    const pending = track(locker.lock("orders", "worker-1"));
    await clock.advanceUntil(() => pending.done);
    expect(pending.value?.fencingToken).toBeGreaterThan(0);
    expect(transport.dials).toEqual(["n1:7001", "n2:7001", "n3:7001"]);
    expect(cluster.requestsOf("acquire").map((r) => r.nodeId)).toEqual(["n1", "n2", "n3"]);
    await locker.close();
  });

  it("moves on round-robin when there is no hint or the node is down, and keeps a lock across a leader change", async () => {
    const { clock, cluster, transport, locker } = harness({}, "n1");
    const pending = track(
      locker.lock("orders", "worker-1", { ttl: 3_000, refreshInterval: 1_000 }),
    );
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    // The leader crashes; n2 becomes leader but followers do not know yet (no hint).
    cluster.nodes.get("n1")!.down = true;
    transport.dropConnections("n1:7001");
    cluster.leaderId = "n2";
    cluster.hideLeader = true;
    await clock.advance(5_000);
    expect(lock.state).toBe("held");
    expect(cluster.requestsOf("refresh").some((r) => r.nodeId === "n2")).toBe(true);
    // One reconnect to the node that dropped, refused, then the next endpoint.
    expect(transport.dials.slice(0, 3)).toEqual(["n1:7001", "n1:7001", "n2:7001"]);
    await locker.close();
  });

  it("many calls failing on one connection move the rotation on once, and skip no endpoint", async () => {
    const { clock, cluster, transport, locker } = harness({}, "n1");
    const first = track(locker.get("k"));
    await clock.advanceUntil(() => first.done);
    cluster.nodes.get("n1")!.paused = true;
    cluster.leaderId = "n2";
    cluster.hideLeader = true;
    const reads = Array.from({ length: 10 }, (_, i) => track(locker.get(`k${i}`)));
    await clock.advance(10); // all ten are in flight on n1
    cluster.nodes.get("n1")!.down = true;
    transport.dropConnections("n1:7001");
    await clock.advanceUntil(() => reads.every((r) => r.done));
    for (const read of reads) expect(read.value).toMatchObject({ held: false });
    // The break came with requests in flight: straight to the next endpoint, n3 never tried.
    expect(transport.dials).toEqual(["n1:7001", "n2:7001"]);
    await locker.close();
  });

  it("follows one hint for many concurrent calls without backing off each", async () => {
    const { clock, cluster, transport, locker } = harness({}, "n3");
    const startMs = clock.now();
    const reads = Array.from({ length: 10 }, (_, i) => track(locker.get(`k${i}`)));
    await clock.advanceUntil(() => reads.every((r) => r.done));
    expect(transport.dials).toEqual(["n1:7001", "n3:7001"]);
    expect(cluster.requestsOf("get").filter((r) => r.nodeId === "n3")).toHaveLength(10);
    expect(clock.now()).toBe(startMs); // no backoff timer was needed
    await locker.close();
  });

  it("backs off and retries when the leader is overloaded or has no quorum", async () => {
    const { clock, cluster, locker } = harness();
    const originalHandle = cluster.handle.bind(cluster);
    const refusals = [
      { code: "OVERLOADED", message: "queue full", retryAfterMs: 200 },
      { code: "TOO_MANY_REQUESTS", message: "slow down" },
      { code: "CLUSTER_UNAVAILABLE", message: "no quorum" },
    ] as const;
    let answered = 0;
    const times: number[] = [];
    const startMs = clock.now();
    cluster.handle = (nodeId, request, reply) => {
      times.push(clock.now() - startMs);
      if (answered < refusals.length) {
        reply({ type: "error", id: request.id, error: { ...refusals[answered++] } });
        return;
      }
      originalHandle(nodeId, request, reply);
    };
    const pending = track(locker.lock("orders", "worker-1"));
    await clock.advanceUntil(() => pending.done);
    expect(pending.value?.fencingToken).toBeGreaterThan(0);
    expect(times).toHaveLength(4);
    expect(times[1]).toBeGreaterThanOrEqual(200); // honoured retryAfterMs
    expect(times[2]).toBeGreaterThan(times[1]);
    expect(times[3]).toBeGreaterThan(times[2]);
    await locker.close();
  });

  it("waits the retryAfterMs of a connection refused OVERLOADED before it dials again", async () => {
    const { clock, cluster, locker, transport } = harness();
    cluster.nodes.get("n1")!.refuseNext = {
      code: "OVERLOADED",
      message: "more than 64 connections from this address",
      retryAfterMs: 5_000,
    };
    const startMs = clock.now();
    const pending = track(locker.lock("orders", "worker-1"));
    await clock.advanceUntil(() => pending.done);
    expect(pending.value?.fencingToken).toBeGreaterThan(0);
    expect(transport.dials[0]).toBe("n1:7001");
    const acquires = cluster.requestsOf("acquire");
    expect(acquires.length).toBeGreaterThan(0);
    expect(acquires[0].atMs - startMs).toBeGreaterThanOrEqual(5_000);
    await locker.close();
  });

  it("fails with ClusterUnavailableError when no node answers within unavailableTimeoutMs", async () => {
    const { clock, cluster, locker } = harness({ unavailableTimeoutMs: 3_000 });
    for (const node of cluster.nodes.values()) node.down = true;
    const startMs = clock.now();
    const pending = track(locker.lock("orders", "worker-1"));
    await clock.advanceUntil(() => pending.done);
    expect(pending.error).toBeInstanceOf(ClusterUnavailableError);
    expect(clock.now() - startMs).toBe(3_000);
    await locker.close();
  });

  it("waits in the FIFO queue instead of polling and is granted on release", async () => {
    const { clock, cluster, locker } = harness();
    const holderToken = cluster.seize("orders", "first", 60_000);
    const pending = track(locker.lock("orders", "worker-1", { ttl: 3_000, wait: "10s" }));
    await clock.advance(2_000);
    expect(pending.done).toBe(false);
    expect(cluster.waiterCount("orders")).toBe(1);
    cluster.handle(
      "n1",
      { type: "release", id: 99, key: "orders", value: "first", token: holderToken },
      () => {},
    );
    await clock.advanceUntil(() => pending.done);
    expect(pending.value!.fencingToken).toBeGreaterThan(holderToken);
    expect(cluster.requestsOf("acquire")).toHaveLength(1);
    await locker.close();
  });

  it("bounds a queued grant's validity by the cluster's deadline (sent + waited + ttl, less drift)", async () => {
    const { clock, cluster, locker } = harness({ driftFactor: 0.01, marginMs: 5 });
    cluster.seize("orders", "first", 2_000);
    const sentAtMs = clock.now();
    const pending = track(
      locker.lock("orders", "worker-1", { ttl: 1_000, wait: "10s", refreshInterval: 0 }),
    );
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    const grantDeadline = cluster.holder("orders")!.deadlineMs;
    // Granted at expiry of the first holder, 2000 ms after sending; waitedMs = 2000.
    expect(lock.validUntilMs).toBe(sentAtMs + (2_000 + 1_000) * 0.99 - 5);
    expect(lock.validUntilMs).toBeLessThanOrEqual(grantDeadline);
    await locker.close();
  });

  it("refreshes a grant before handing it out when its provable validity is short", async () => {
    const { clock, cluster, locker } = harness({ driftFactor: 0.01, marginMs: 5 });
    cluster.seize("orders", "first", 2_000);
    // The server reports no wait (0 is always allowed): only sent + ttl is provable, and that
    // has passed by the time of the grant, so the client refreshes first.
    const originalHandle = cluster.handle.bind(cluster);
    cluster.handle = (nodeId, request, reply) =>
      originalHandle(nodeId, request, (response) => {
        if (response.type === "ok" && request.type === "acquire") {
          reply({ ...response, result: { ...(response.result as object), waitedMs: 0 } });
        } else reply(response);
      });
    const pending = track(
      locker.lock("orders", "worker-1", { ttl: 1_000, wait: "10s", refreshInterval: 0 }),
    );
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    const refreshes = cluster.requestsOf("refresh");
    expect(refreshes).toHaveLength(1);
    expect(lock.validUntilMs).toBe(refreshes[0].atMs + 1_000 * 0.99 - 5);
    expect(lock.isValid()).toBe(true);
    await locker.close();
  });

  it("aborts a queued acquisition and leaves the queue", async () => {
    const { clock, cluster, locker } = harness();
    cluster.seize("orders", "first", 60_000);
    const controller = new AbortController();
    const pending = track(
      locker.lock("orders", "worker-1", { wait: "30s", signal: controller.signal }),
    );
    await clock.advance(1_000);
    expect(cluster.waiterCount("orders")).toBe(1);
    controller.abort();
    await clock.advanceUntil(() => pending.done && cluster.waiterCount("orders") === 0);
    expect(pending.error).toBeInstanceOf(AbortedError);
    expect(cluster.requestsOf("cancel")).toHaveLength(1);
    expect(cluster.holder("orders")?.value).toBe("first");
    await locker.close();
  });

  it("gives back a grant its cancel finds: the wait ended in a grant whose answer was lost", async () => {
    const { clock, cluster, locker } = harness();
    const first = cluster.seize("orders", "first", 60_000);
    // The grant to the waiting acquire never reaches the client (its node paused, say).
    const originalHandle = cluster.handle.bind(cluster);
    cluster.handle = (nodeId, request, reply) =>
      originalHandle(nodeId, request, (response) => {
        if (request.type !== "acquire" || response.type !== "ok") reply(response);
      });
    const controller = new AbortController();
    const pending = track(
      locker.lock("orders", "worker-1", { wait: "30s", signal: controller.signal }),
    );
    await clock.advance(1_000);
    cluster.expire("orders");
    const granted = cluster.holder("orders")!;
    expect(granted).toMatchObject({ value: "worker-1" });
    expect(granted.token).toBeGreaterThan(first);
    controller.abort();
    await clock.advanceUntil(() => pending.done && cluster.holder("orders") === null);
    expect(pending.error).toBeInstanceOf(AbortedError);
    const releases = cluster.requestsOf("release").map((r) => r.request);
    expect(releases).toEqual([
      expect.objectContaining({ key: "orders", value: "worker-1", token: granted.token }),
    ]);
    await locker.close();
  });

  it("aborts between retries and refuses an already aborted signal at once", async () => {
    const { clock, cluster, locker } = harness();
    cluster.seize("orders", "first", 60_000);
    const controller = new AbortController();
    const pending = track(
      locker.lock("orders", "worker-1", {
        retryLimit: 100,
        retryInterval: 1_000,
        signal: controller.signal,
      }),
    );
    await clock.advance(2_500);
    controller.abort();
    await clock.advanceUntil(() => pending.done);
    expect(pending.error).toBeInstanceOf(AbortedError);
    expect(cluster.requestsOf("acquire")).toHaveLength(3);
    await expect(
      locker.lock("orders", "w", { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortedError);
    await locker.close();
  });

  it("serves many calls under one caller signal: its abort and the locker's close end them all", async () => {
    const { clock, cluster, locker } = harness();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
      for (const key of keys) cluster.seize(key, "first", 60_000);
      const queue = (signal: AbortSignal) =>
        keys.map((key) => track(locker.lock(key, "worker-1", { wait: "30s", signal })));
      const aborted = new AbortController();
      const first = queue(aborted.signal);
      await clock.advance(1_000);
      expect(keys.map((key) => cluster.waiterCount(key))).toEqual(keys.map(() => 1));
      aborted.abort();
      await clock.advanceUntil(() => first.every((call) => call.done));
      expect(first.map((call) => call.error)).toEqual(keys.map(() => expect.any(AbortedError)));
      // A second signal, still live: the locker's close ends its calls.
      const second = queue(new AbortController().signal);
      await clock.advance(1_000);
      const closed = track(locker.close());
      await clock.advanceUntil(() => closed.done && second.every((call) => call.done));
      expect(second.map((call) => call.error)).toEqual(keys.map(() => expect.any(AbortedError)));
      // Twelve calls listening on one signal at once are normal, not a leak to warn about.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("releases a grant that arrives after the caller aborted", async () => {
    const { clock, cluster, transport, locker } = harness();
    transport.delayMs = 50;
    const controller = new AbortController();
    const pending = track(locker.lock("orders", "worker-1", { signal: controller.signal }));
    // Abort while the acquire is on its way: the server grants it anyway.
    await clock.advance(60);
    controller.abort();
    await clock.advanceUntil(() => pending.done && cluster.requestsOf("release").length === 1);
    await clock.advance(500);
    expect(pending.error).toBeInstanceOf(AbortedError);
    expect(cluster.holder("orders")).toBeNull();
    await locker.close();
  });

  it("sends requests a server accepts even with the longest client id and key", async () => {
    const { clock, cluster, locker } = harness({ clientId: "c".repeat(128) });
    const key = "k".repeat(512);
    const pending = track(locker.lock(key, "v".repeat(256), { wait: "1s", retryLimit: 2 }));
    await clock.advanceUntil(() => pending.done);
    expect(pending.error).toBeUndefined();
    expect(cluster.holder(key)?.token).toBe(pending.value!.fencingToken);
    await locker.close();
  });

  it("rejects bad arguments with an InvalidArgumentError that names them", async () => {
    const { locker } = harness();
    const field = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      return (error as InvalidArgumentError).field;
    };
    expect(await field(locker.lock("", "v"))).toBe("key");
    expect(await field(locker.lock("k", "v".repeat(300)))).toBe("value");
    expect(await field(locker.lock("k", "v", { ttl: "forever" }))).toBe("ttl");
    expect(await field(locker.lock("k", "v", { ttl: 1_000, refreshInterval: 2_000 }))).toBe(
      "refreshInterval",
    );
    expect(await field(locker.lock("k", "v", { retryLimit: -1 }))).toBe("retryLimit");
    expect(await field(locker.lock("k", "v", { retryInterval: "-1s" }))).toBe("retryInterval");
    expect(await field(locker.lock("k", "v", { wait: "1x" }))).toBe("wait");
    await locker.close();
  });

  it("on close, fails pending calls and reports held locks lost", async () => {
    const { clock, cluster, locker } = harness();
    const held = track(locker.lock("a", "worker-1"));
    await clock.advanceUntil(() => held.done);
    cluster.seize("b", "other", 60_000);
    const waiting = track(locker.lock("b", "worker-1", { wait: "30s" }));
    await clock.advance(100);
    await locker.close();
    await clock.advanceUntil(() => waiting.done);
    expect(waiting.error).toBeInstanceOf(AbortedError);
    expect(held.value!.state).toBe("lost");
    expect(held.value!.signal.aborted).toBe(true);
    await expect(locker.lock("c", "v")).rejects.toBeInstanceOf(AbortedError);
  });

  it("reads a key and the cluster status", async () => {
    const { clock, locker } = harness({}, "n2");
    const lock = track(locker.lock("orders", "worker-1", { ttl: 5_000 }));
    await clock.advanceUntil(() => lock.done);
    const get = track(locker.get("orders"));
    await clock.advanceUntil(() => get.done);
    expect(get.value).toMatchObject({
      held: true,
      value: "worker-1",
      fencingToken: lock.value!.fencingToken,
    });
    const status = track(locker.status());
    await clock.advanceUntil(() => status.done);
    expect(status.value?.leader).toBe("n2");
    expect(status.value?.members).toHaveLength(3);
    await locker.close();
  });
});

describe("Lock disposal", () => {
  it("releases the lock at the end of an `await using` block", async () => {
    const { clock, cluster, locker } = harness();
    const run = async () => {
      await using lock = await locker.lock("orders", "worker-1");
      expect(cluster.holder("orders")?.token).toBe(lock.fencingToken);
    };
    const done = track(run());
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBeUndefined();
    expect(cluster.holder("orders")).toBeNull();
    expect(cluster.requestsOf("release")).toHaveLength(1);
    await locker.close();
  });
});
