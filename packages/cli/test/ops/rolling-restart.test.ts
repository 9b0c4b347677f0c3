// A rolling restart of every node under load (SIGTERM, restart, wait for /readyz, next node): the
// leader hands leadership over before it stops, so clients see no failed operation and no lock
// is lost or doubled. The longest time without a leader is measured and printed (not asserted:
// it is a figure of the machine; that the leader handed over, which keeps it short, is).
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { LocalCluster } from "@dlock/tools";
import { FencedWorkload, historyProblems } from "./fenced-workload.js";
import { LeaderWatch, leaderGapsFromLogs } from "./leader-watch.js";
import { CLUSTER_ID, startCluster, testSeed } from "./support.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("rolling restart under load (real processes)", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("restarts every node, the leader among them, with no failed operation and no lost lock", async () => {
    let cluster: LocalCluster;
    ({ cluster, cleanup } = await startCluster("rolling"));
    await cluster.waitForLeader();
    await cluster.waitForReady();
    const workload = new FencedWorkload({
      endpoints: cluster.endpoints(),
      clusterId: CLUSTER_ID,
      seed: testSeed("rolling restart"),
      workers: 8,
    });
    await workload.start();
    const watch = new LeaderWatch(cluster);
    const restarts: Array<{ id: string; wasLeader: boolean; downMs: number; toReadyMs: number }> =
      [];
    try {
      await sleep(1_000);
      // Every node once, the current leader second: a follower first, then a handover mid-run
      // with a freshly restarted node in the cluster, then the last one.
      const leaderFirst = await cluster.waitForLeader();
      const followers = ["n1", "n2", "n3"].filter((id) => id !== leaderFirst);
      const order = [followers[0], leaderFirst, followers[1]];
      for (const id of order) {
        const wasLeader = (await cluster.status(id))?.role === "leader";
        const stopAt = performance.now();
        await cluster.kill(id, "SIGTERM");
        const downMs = performance.now() - stopAt;
        const startAt = performance.now();
        cluster.restart(id);
        await cluster.waitForReady(60_000, [id]);
        restarts.push({ id, wasLeader, downMs, toReadyMs: performance.now() - startAt });
        await sleep(1_000); // load on the whole cluster before the next one
      }
      expect(restarts.filter((r) => r.wasLeader).length).toBeGreaterThanOrEqual(1);
      expect(restarts).toHaveLength(3);
      await sleep(1_000);
    } finally {
      await watch.stop();
    }
    const report = await workload.stop();
    try {
      const logged = await leaderGapsFromLogs(cluster.nodes.map((node) => node.logFile));
      const longest = Math.max(watch.longestMs, ...logged.map((gap) => gap.durationMs));
      console.log(
        `rolling restart: ${report.cycles} lock cycles (${2 * report.cycles} acquire and release ` +
          `operations, plus the refreshes of ${report.held.length} held locks), ` +
          `${report.failures.length} failed, ` +
          `${report.lostHeld.length} held locks lost; longest time without a leader ` +
          `${longest.toFixed(0)} ms (from the nodes' logs: ${logged.length} gaps of ` +
          `${logged.map((gap) => gap.durationMs).join(", ")} ms; polling every 20 ms saw ` +
          `${watch.gaps.length} gaps in ${watch.samples} samples); restarts:`,
        restarts.map((r) => ({
          ...r,
          downMs: Math.round(r.downMs),
          toReadyMs: Math.round(r.toReadyMs),
        })),
      );
      expect(report.cycles).toBeGreaterThan(100);
      expect(report.failures).toEqual([]);
      expect(report.lostHeld).toEqual([]);
      expect(report.staleWrites).toBe(0);
      expect(historyProblems(report.history)).toEqual([]);
      for (const { key, token } of report.held) {
        expect(await workload.get(key)).toMatchObject({ held: true, fencingToken: token });
      }
      // Each leader that was restarted handed leadership over before it stopped (so the cluster
      // was without a leader for about a round trip, not for an election timeout).
      for (const restart of restarts.filter((r) => r.wasLeader)) {
        const log = await readFile(cluster.node(restart.id).logFile, "utf8");
        expect(log, `${restart.id} handed over`).toContain(
          '"msg":"leadership handed over before shutdown"',
        );
      }
    } finally {
      await workload.close();
    }
  }, 240_000);
});
