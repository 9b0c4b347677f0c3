// Snapshot transfer over the peer TCP link, on real processes: a node that was down while the
// leader compacted past everything it has receives the leader's snapshot in chunks (the
// connection is cut in the middle and the transfer resumes where it stopped), installs it, serves
// reads as leader, and later restarts from its own snapshot plus the log after it. (A node whose
// data folder was lost rejoins through `dlock member`: see membership.test.ts.)
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import type { LocalCluster } from "@dlock/tools";
import { CuttingProxy } from "./cutting-proxy.js";
import { CLUSTER_ID, startCluster, waitUntil } from "./support.js";

/** ~850-byte lock records: 12,000 locks make a snapshot of about 10 MB (20 chunks of 512 KiB). */
const LOCKS = 12_000;
const KEY_PAD = "k".repeat(300);
const VALUE_PAD = "v".repeat(200);
const keyOf = (i: number): string => `snap/${KEY_PAD}/${i}`;
const valueOf = (i: number): string => `${VALUE_PAD}-${i}`;

describe("snapshot transfer over the peer link (real processes)", () => {
  let cleanup: (() => Promise<void>) | null = null;
  let proxy: CuttingProxy | null = null;
  afterEach(async () => {
    await cleanup?.();
    await proxy?.close();
    cleanup = null;
    proxy = null;
  });

  it("a node far behind gets the snapshot despite a cut mid-transfer, serves, and restarts from snapshot + tail", async () => {
    proxy = await CuttingProxy.start();
    let cluster: LocalCluster;
    ({ cluster, cleanup } = await startCluster("snapshot-transfer", {
      advertisedPeerAddresses: { n3: proxy.address },
      extraArgs: ["--compaction-entries", "4000"],
    }));
    proxy.setTarget(cluster.node("n3").peerAddress);
    await cluster.waitForLeader();
    await cluster.waitForReady();

    // n3 stops (a leader hands over first) and misses everything below.
    await cluster.kill("n3", "SIGTERM");
    const tokens = new Map<number, number>();
    const locker = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
    try {
      for (let i = 0; i < LOCKS; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, async (_, j) => {
            const grant = await locker.acquire(keyOf(i + j), valueOf(i + j), { ttl: "10m" });
            tokens.set(i + j, grant.fencingToken);
          }),
        );
      }
    } finally {
      await locker.close();
    }

    // The leader streamed appends towards n3 all along (they wait in its peer queue, up to the
    // inflight window) and would catch n3 up from them. The leader of a new term (the old one
    // restarted) has sent n3 nothing but heartbeats and probes: n3 must get the snapshot.
    const first = await cluster.waitForLeader(30_000, ["n1", "n2"]);
    const firstTerm = (await cluster.status(first))?.term ?? 0;
    await cluster.kill(first, "SIGTERM");
    cluster.restart(first);
    const leader = await cluster.waitForLeader(30_000, ["n1", "n2"]);
    expect((await cluster.status(leader))?.term).toBeGreaterThan(firstTerm);
    // A compaction starts once 3/4 of --compaction-entries (3,000) entries are above the last
    // snapshot, at whatever index applies have then reached. On a loaded machine applies come in
    // larger batches, so the snapshots land later and the last one may stop short of the last
    // lock with fewer than 3,000 entries after it: nothing would start another. Add entries until
    // a snapshot covers every lock instead of waiting for one that may never come.
    const filler = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
    let fills = 0;
    let leaderLog;
    try {
      leaderLog = await waitUntil(
        "the leader's snapshot covers every lock",
        async () => {
          const log = (await cluster.status(leader))?.raftLog;
          if (log !== undefined && log.snapshotIndex >= LOCKS) return log;
          await Promise.all(
            Array.from({ length: 100 }, () =>
              filler.acquire(`fill/${fills++}`, "f", { ttl: "10m" }),
            ),
          );
          return null;
        },
        120_000,
      );
    } finally {
      await filler.close();
    }
    console.log(`leader snapshot at ${leaderLog.snapshotIndex} after ${fills} filler locks`);
    const snapshotBytes = leaderLog.snapshotBytes;
    expect(snapshotBytes).toBeGreaterThan(8 * 1024 * 1024);
    // Cut every connection to n3 once 40% of the snapshot went through (counted from the
    // first chunk; appends queued while n3 was down go through before it).
    proxy.cutAfterMarker("snapshot", Math.floor(snapshotBytes * 0.4));
    cluster.restart("n3");

    const installed = await waitUntil(
      "n3 installed the leader's snapshot",
      async () => {
        const log = (await cluster.status("n3"))?.raftLog;
        return log !== undefined && log.snapshotsInstalled >= 1 ? log : null;
      },
      60_000,
    );
    expect(proxy.cuts).toBe(1);
    // Resumed from the acknowledged offset, not restarted: one snapshot went through, plus at
    // most the chunk the cut interrupted (512 KiB) sent again.
    expect(proxy.bytesSinceMarker).toBeGreaterThan(snapshotBytes);
    expect(proxy.bytesSinceMarker).toBeLessThan(snapshotBytes * 1.15);
    expect(installed.snapshotIndex).toBeGreaterThan(LOCKS - 4000);
    await cluster.waitForReady(30_000, ["n3"]);

    // n3 serves: the other follower freezes, so the stopping leader hands over to n3, the only
    // follower it hears from. The frozen one then wakes with a log shorter than n3's (it misses
    // n3's first entry) and follows n3, which answers reads from its table. (Had the follower
    // been restarted instead, it could have taken n3's entry and then won an election against
    // n3 if n3 had stepped down meanwhile for lack of a quorum: both are legal outcomes.)
    const follower = leader === "n1" ? "n2" : "n1";
    cluster.pause(follower);
    await waitUntil(`${leader} no longer hears from ${follower}`, async () => {
      const members = (await cluster.status(leader))?.members ?? [];
      return members.find((m) => m.id === follower)?.healthy === false;
    });
    await cluster.kill(leader, "SIGTERM");
    cluster.resume(follower);
    const stopLog = await readFile(cluster.node(leader).logFile, "utf8");
    expect(stopLog).toMatch(/"target":"n3"[^\n]*"msg":"leadership handed over before shutdown"/);
    expect(await cluster.waitForLeader(30_000, ["n3", follower])).toBe("n3");
    const reader = new Locker({
      endpoints: [cluster.node("n3").clientAddress],
      clusterId: CLUSTER_ID,
    });
    try {
      for (const i of [0, 1, 777, 7_500, LOCKS - 1]) {
        const got = await reader.get(keyOf(i));
        expect(got).toMatchObject({ held: true, value: valueOf(i), fencingToken: tokens.get(i) });
      }
      // A log tail after n3's snapshot, then n3 restarts from snapshot + tail.
      for (let i = 0; i < 50; i++) await reader.acquire(`tail/${i}`, "t", { ttl: "10m" });
    } finally {
      await reader.close();
    }
    await cluster.kill("n3", "SIGTERM");
    cluster.restart(leader);
    cluster.restart("n3");
    await cluster.waitForLeader();
    await cluster.waitForReady();
    const restarted = (await cluster.status("n3"))?.raftLog;
    expect(restarted?.snapshotsInstalled).toBe(0);
    expect(restarted?.snapshotIndex).toBeGreaterThanOrEqual(installed.snapshotIndex);
    const check = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
    try {
      expect(await check.get("tail/49")).toMatchObject({ held: true, value: "t" });
      expect(await check.get(keyOf(LOCKS - 1))).toMatchObject({ held: true });
    } finally {
      await check.close();
    }
  }, 240_000);
});
