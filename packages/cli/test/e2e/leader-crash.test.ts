// Issue 3, "what it must show" #4: kill -9 the leader while clients hold, wait for and cycle
// locks. Requests resume on the new leader; held locks keep their holder and token; nothing
// acknowledged is lost (every acknowledged acquire is visible to the next linearizable read,
// every acknowledged release stays released); the killed node restarts from its data folder and
// catches up with the leader's commit index.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import type { Lock } from "@dlock/client";
import { runningNodes, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { waitFor } from "./support/wait.js";

const HELD = 3;
const RELEASED = 3;
const WORKERS = 4;
/** Held locks must survive a leader change: a few election timeouts are plenty; 5 s is generous. */
const TTL_MS = 5_000;
const CYCLES_BEFORE_KILL = 3;
const CYCLES_AFTER_KILL = 5;

interface WorkerLog {
  key: string;
  tokens: number[];
  cycles: number;
  /** Linearizable reads right after an acknowledged acquire that did not show it. */
  unseenAcquires: string[];
  /** Release outcomes other than { released: true, lost: false }. */
  badReleases: string[];
  errors: string[];
}

let test: TestCluster;
const lockers: Locker[] = [];

function newLocker(): Locker {
  const locker = new Locker({ endpoints: test.cluster.endpoints() });
  lockers.push(locker);
  return locker;
}

beforeAll(async () => {
  test = await startTestCluster("crash");
});

afterAll(async () => {
  await Promise.all(lockers.map((l) => l.close()));
  await test?.dispose();
});

describe("kill -9 of the leader", () => {
  it("fails over with locks, tokens and acknowledged operations intact; the killed node catches up", async () => {
    const { cluster } = test;
    const observer = newLocker();

    const held: Lock[] = [];
    for (let i = 0; i < HELD; i++) {
      held.push(await newLocker().lock(`held-${i}`, `holder-${i}`, { ttl: TTL_MS }));
    }
    for (let i = 0; i < RELEASED; i++) {
      const lock = await newLocker().lock(`released-${i}`, `gone-${i}`, { ttl: TTL_MS });
      expect(await lock.release()).toEqual({ released: true, lost: false });
    }
    // A client queued behind held-0 across the crash.
    const waiting = newLocker().lock("held-0", "waiter", { ttl: TTL_MS, wait: "60s" });
    await waitFor("the waiter queued", async () => (await observer.get("held-0")).waiters === 1);

    let stop = false;
    const logs: WorkerLog[] = [];
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      const locker = newLocker();
      const log: WorkerLog = {
        key: `work-${w}`,
        tokens: [],
        cycles: 0,
        unseenAcquires: [],
        badReleases: [],
        errors: [],
      };
      logs.push(log);
      while (!stop) {
        try {
          const lock = await locker.lock(log.key, `worker-${w}`, { ttl: TTL_MS });
          log.tokens.push(lock.fencingToken);
          const seen = await locker.get(log.key);
          if (seen.value !== `worker-${w}` || seen.fencingToken !== lock.fencingToken) {
            log.unseenAcquires.push(`token ${lock.fencingToken}: read ${JSON.stringify(seen)}`);
          }
          const outcome = await lock.release();
          if (!outcome.released || outcome.lost) {
            log.badReleases.push(`token ${lock.fencingToken}: ${JSON.stringify(outcome)}`);
          }
          log.cycles++;
        } catch (error) {
          log.errors.push(String(error));
        }
      }
    });

    await waitFor(
      "workers cycling",
      () => logs.length === WORKERS && logs.every((l) => l.cycles >= CYCLES_BEFORE_KILL),
    );
    const oldLeader = await cluster.waitForLeader(10_000);
    const cyclesAtKill = logs.map((l) => l.cycles);
    await cluster.kill(oldLeader, "SIGKILL");
    expect(cluster.node(oldLeader).process).toBeNull();

    const survivors = runningNodes(cluster);
    const newLeader = await cluster.waitForLeader(30_000, survivors);
    expect(newLeader).not.toBe(oldLeader);
    await waitFor(
      "every worker cycling on the new leader",
      () => logs.every((l, w) => l.cycles >= cyclesAtKill[w] + CYCLES_AFTER_KILL),
      30_000,
    );
    stop = true;
    await Promise.all(workers);
    console.info(
      `killed ${oldLeader}, new leader ${newLeader}; cycles per worker ${logs.map((l) => l.cycles).join(", ")}`,
    );

    for (const log of logs) {
      expect(log.errors).toEqual([]);
      expect(log.unseenAcquires).toEqual([]);
      // Even a release retried across the crash frees its own grant and loses nothing.
      expect(log.badReleases).toEqual([]);
      for (let i = 1; i < log.tokens.length; i++)
        expect(log.tokens[i]).toBeGreaterThan(log.tokens[i - 1]);
      // Every cycle ended with an acknowledged release: the key is free.
      expect(await observer.get(log.key)).toMatchObject({ held: false });
    }

    for (let i = 0; i < HELD; i++) {
      expect(held[i].state).toBe("held");
      expect(held[i].signal.aborted).toBe(false);
      expect(await observer.get(`held-${i}`)).toMatchObject({
        held: true,
        value: `holder-${i}`,
        fencingToken: held[i].fencingToken,
      });
    }
    for (let i = 0; i < RELEASED; i++) {
      expect(await observer.get(`released-${i}`)).toMatchObject({ held: false, value: null });
    }
    // The waiter is still queued on the new leader and gets the lock when its holder lets go.
    expect(await observer.get("held-0")).toMatchObject({ waiters: 1 });
    expect(await held[0].release()).toEqual({ released: true, lost: false });
    const waiter = await waiting;
    expect(waiter.fencingToken).toBeGreaterThan(held[0].fencingToken);
    expect(await waiter.release()).toEqual({ released: true, lost: false });
    for (const lock of held.slice(1))
      expect(await lock.release()).toEqual({ released: true, lost: false });

    // The killed node comes back from its data folder and catches up.
    cluster.restart(oldLeader);
    const leaderStatus = await cluster.status(newLeader);
    expect(leaderStatus).not.toBeNull();
    const target = leaderStatus!.commitIndex;
    const caughtUp = await waitFor(
      `${oldLeader} applied up to ${target}`,
      async () => {
        const status = await cluster.status(oldLeader);
        // Any leader will do: on a loaded machine leadership may move again meanwhile.
        return status !== null && status.appliedIndex >= target && status.leader !== null
          ? status
          : undefined;
      },
      30_000,
    );
    expect(caughtUp.appliedIndex).toBeGreaterThanOrEqual(target);
    // It came back from its data folder, not empty: its host started from a committed index.
    const starts = (await readFile(cluster.node(oldLeader).logFile, "utf8"))
      .split("\n")
      .filter((line) => line.includes('"msg":"raft host started"'))
      .map((line) => JSON.parse(line) as { commit: number });
    expect(starts).toHaveLength(2);
    expect(starts[1].commit).toBeGreaterThan(0);
    await cluster.waitForReady(30_000);
    expect(runningNodes(cluster)).toHaveLength(3);
  });
});
