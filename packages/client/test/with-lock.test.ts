// locker.withLock, retry jitter and the locker's event hook, on virtual time against the fake
// cluster (every random draw comes from the injected `random`).
import { describe, expect, it } from "vitest";
import {
  ClusterUnavailableError,
  InvalidArgumentError,
  LockBusyError,
  LockLostError,
} from "../src/index.js";
import type { Lock, LockerEvents } from "../src/index.js";
import { harness, track } from "./support/harness.js";

/** A random source that returns `values` in turn (then the last one forever). */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)]!;
}

describe("locker.withLock", () => {
  it("runs fn with the lock, releases it, and resolves with fn's result", async () => {
    const { clock, cluster, locker } = harness();
    let seen: { token: number; aborted: boolean; holder: number | undefined } | null = null;
    const done = track(
      locker.withLock(
        "orders",
        "worker-1",
        (lock) => {
          seen = {
            token: lock.fencingToken,
            aborted: lock.signal.aborted,
            holder: cluster.holder("orders")?.token,
          };
          return "report written";
        },
        { ttl: "10s" },
      ),
    );
    await clock.advanceUntil(() => done.done);
    expect(done.value).toBe("report written");
    expect(seen).toEqual({ token: 1, aborted: false, holder: 1 });
    expect(cluster.holder("orders")).toBeNull();
    expect(cluster.requestsOf("release")).toHaveLength(1);
    await locker.close();
  });

  it("releases when fn throws, and rejects with fn's error", async () => {
    const { clock, cluster, locker } = harness();
    const failure = new Error("the report failed");
    const done = track(
      locker.withLock("orders", "worker-1", async () => {
        await Promise.resolve();
        throw failure;
      }),
    );
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBe(failure);
    expect(cluster.holder("orders")).toBeNull();
    await locker.close();
  });

  it("rejects with fn's error even when the release fails too", async () => {
    const { clock, cluster, locker } = harness({ unavailableTimeoutMs: 2_000 });
    const failure = new Error("the report failed");
    const done = track(
      locker.withLock("orders", "worker-1", () => {
        cluster.nodes.get("n1")!.paused = true; // the release gets no answer
        throw failure;
      }),
    );
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBe(failure);
    expect(cluster.requestsOf("release").length).toBeGreaterThan(0);
    await locker.close();
  });

  it("rejects with the release's error when fn succeeded but nothing could release the lock", async () => {
    const { clock, cluster, locker } = harness({ unavailableTimeoutMs: 2_000 });
    const done = track(
      locker.withLock("orders", "worker-1", () => {
        cluster.nodes.get("n1")!.paused = true;
        return 1;
      }),
    );
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBeInstanceOf(ClusterUnavailableError);
    await locker.close();
  });

  it("aborts fn's signal when the lock is lost, and rejects with the LockLostError", async () => {
    const { clock, cluster, locker } = harness();
    let reason: unknown = null;
    const done = track(
      locker.withLock(
        "orders",
        "worker-1",
        (lock: Lock) =>
          new Promise<string>((resolve) => {
            lock.signal.addEventListener("abort", () => {
              reason = lock.signal.reason;
              resolve("finished anyway"); // ignores the loss: withLock must not report success
            });
            cluster.expire("orders");
            cluster.seize("orders", "thief", 60_000);
          }),
        { ttl: 3_000, refreshInterval: 1_000 },
      ),
    );
    await clock.advanceUntil(() => done.done);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(done.error).toBe(reason);
    expect(cluster.holder("orders")?.value).toBe("thief"); // the thief's grant is untouched
    await locker.close();
  });

  it("does not run fn when the lock cannot be taken", async () => {
    const { clock, cluster, locker } = harness();
    cluster.seize("orders", "someone-else", 60_000);
    let ran = false;
    const done = track(
      locker.withLock("orders", "worker-1", () => {
        ran = true;
      }),
    );
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBeInstanceOf(LockBusyError);
    expect(ran).toBe(false);
    await locker.close();
  });

  it("refuses an fn that is not a function", async () => {
    const { locker } = harness();
    await expect(
      locker.withLock("orders", "worker-1", "not a function" as unknown as () => void),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await locker.close();
  });
});

describe("retry jitter", () => {
  it("adds random × retryJitter to each retry interval, from the injected random source", async () => {
    // The first draw picks the first endpoint; the next three are the jitter of three retries.
    const { clock, cluster, locker } = harness({ random: sequence(0, 0.5, 0, 0.25) });
    cluster.seize("orders", "someone-else", 60_000);
    const startMs = clock.now();
    const done = track(
      locker.lock("orders", "worker-1", { retryLimit: 3, retryInterval: 100, retryJitter: 40 }),
    );
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBeInstanceOf(LockBusyError);
    const atMs = cluster.requestsOf("acquire").map((a) => a.atMs - startMs);
    expect(atMs).toEqual([0, 120, 220, 330]);
    await locker.close();
  });

  it("jitters by a quarter of the retry interval by default", async () => {
    const { clock, cluster, locker } = harness({ random: sequence(0, 0.999) });
    cluster.seize("orders", "someone-else", 60_000);
    const startMs = clock.now();
    const done = track(locker.lock("orders", "worker-1", { retryLimit: 1, retryInterval: 200 }));
    await clock.advanceUntil(() => done.done);
    const atMs = cluster.requestsOf("acquire").map((a) => a.atMs - startMs);
    expect(atMs[1]).toBeGreaterThan(249);
    expect(atMs[1]).toBeLessThan(250);
    await locker.close();
  });
});

describe("locker events", () => {
  function record(locker: ReturnType<typeof harness>["locker"]) {
    const events: Array<{ [E in keyof LockerEvents]: [E, LockerEvents[E]] }[keyof LockerEvents]> =
      [];
    locker.on("connected", (event) => events.push(["connected", event]));
    locker.on("leaderChanged", (event) => events.push(["leaderChanged", event]));
    locker.on("refreshFailed", (event) => events.push(["refreshFailed", event]));
    locker.on("lockLost", (event) => events.push(["lockLost", event]));
    return events;
  }

  it("reports connections and the leader the locker finds, following a hint", async () => {
    const { clock, locker } = harness({}, "n2");
    const events = record(locker);
    const done = track(locker.get("orders"));
    await clock.advanceUntil(() => done.done);
    expect(events).toEqual([
      ["connected", { endpoint: "n1:7001", nodeId: "n1" }],
      ["connected", { endpoint: "n2:7001", nodeId: "n2" }],
      ["leaderChanged", { leaderId: "n2", previousLeaderId: null, endpoint: "n2:7001" }],
    ]);
    // Another answer from the same leader is no change.
    const again = track(locker.get("orders"));
    await clock.advanceUntil(() => again.done);
    expect(events).toHaveLength(3);
    await locker.close();
  });

  it("reports a new leader after the old one goes down", async () => {
    const { clock, cluster, transport, locker } = harness({}, "n1");
    const events = record(locker);
    const first = track(locker.get("orders"));
    await clock.advanceUntil(() => first.done);
    cluster.nodes.get("n1")!.down = true;
    transport.dropConnections("n1:7001");
    cluster.leaderId = "n2";
    const second = track(locker.get("orders"));
    await clock.advanceUntil(() => second.done);
    expect(events.filter(([name]) => name === "leaderChanged").map(([, event]) => event)).toEqual([
      { leaderId: "n1", previousLeaderId: null, endpoint: "n1:7001" },
      { leaderId: "n2", previousLeaderId: "n1", endpoint: "n2:7001" },
    ]);
    await locker.close();
  });

  it("reports failed refreshes and then the loss, once, with the lock's key and token", async () => {
    const { clock, cluster, locker } = harness({ requestTimeoutMs: 400 });
    const pending = track(
      locker.lock("orders", "worker-1", { ttl: 3_000, refreshInterval: 1_000 }),
    );
    await clock.advanceUntil(() => pending.done);
    const lock = pending.value!;
    const events = record(locker);
    cluster.handle = (_nodeId, request, reply) =>
      reply({
        type: "error",
        id: request.id,
        error: { code: "INTERNAL", message: "disk on fire" },
      });
    await clock.advance(5_000);
    expect(lock.state).toBe("lost");
    const failed = events.filter(([name]) => name === "refreshFailed");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]![1]).toMatchObject({ key: "orders", fencingToken: lock.fencingToken });
    const lost = events.filter(([name]) => name === "lockLost");
    expect(lost).toEqual([
      ["lockLost", { key: "orders", fencingToken: lock.fencingToken, error: lock.signal.reason }],
    ]);
    await locker.close();
  });

  it("keeps going when a listener throws, and stops calling a removed one", async () => {
    const { clock, locker } = harness();
    const calls: string[] = [];
    locker.on("connected", () => {
      throw new Error("a broken listener");
    });
    const off = locker.on("connected", () => calls.push("removed"));
    off();
    locker.on("connected", () => calls.push("kept"));
    const done = track(locker.get("orders"));
    await clock.advanceUntil(() => done.done);
    expect(done.error).toBeUndefined();
    expect(calls).toEqual(["kept"]);
    await locker.close();
  });
});
