import { RaftHost } from "@dlock/server/internal";
import { encodeCommand } from "@dlock/server/lock";
import { describe, expect, it } from "vitest";
import { runHostCatchUp, simHostCluster } from "../../src/lock/host-catch-up.js";
import { CALM_NETWORK } from "../../src/network.js";

function cluster(seed: number) {
  const { sim, world, nodes } = simHostCluster({
    seed,
    network: CALM_NETWORK,
    tornWriteRate: 0,
    host: { compactionEntries: 50 },
  });
  const leader = () => nodes.find((node) => node.raftHost?.status().role === "leader");
  const runUntil = async (stop: () => boolean, boundMs = 10_000): Promise<boolean> => {
    const until = world.nowMs + boundMs;
    while (!stop() && world.nowMs < until) {
      await world.runUntil(Math.min(until, world.nowMs + 10), stop);
    }
    return stop();
  };
  const acquire = (n: number) =>
    encodeCommand({
      type: "acquire",
      key: `k${n}`,
      value: `v${n}`,
      ttlMs: 60_000,
      waitMs: 0,
      lockDelayMs: 0,
      requestId: n,
    });
  return { sim, world, nodes, leader, runUntil, acquire };
}

describe("the simulator runs the production RaftHost", () => {
  it("elects, replicates and applies on virtual time alone", async () => {
    const { sim, nodes, leader, runUntil, acquire } = cluster(7);
    for (const node of nodes) node.start();
    expect(await runUntil(() => leader() !== undefined)).toBe(true);
    for (const node of nodes) expect(node.raftHost).toBeInstanceOf(RaftHost);
    const electedAtMs = sim.nowMs;
    const results: Array<string | undefined> = [];
    for (const n of [1, 2, 3]) {
      void leader()!
        .raftHost!.propose(acquire(n))
        .then((result) => results.push(result?.type));
    }
    expect(await runUntil(() => results.length === 3)).toBe(true);
    expect(results).toEqual(["granted", "granted", "granted"]);
    const last = leader()!.table!.appliedIndex;
    expect(await runUntil(() => nodes.every((node) => node.table!.appliedIndex >= last))).toBe(
      true,
    );
    for (const node of nodes) expect(node.table!.get("k2")?.held).toBe(true);
    // Only simulated time passed: the world's clock is what moved the election and the commits.
    expect(sim.nowMs).toBeGreaterThan(electedAtMs);
  });

  it("a crashed node restarts from what its disk synced and catches up past a compaction", async () => {
    const { world, nodes, leader, runUntil, acquire } = cluster(11);
    for (const node of nodes) node.start();
    expect(await runUntil(() => leader() !== undefined)).toBe(true);
    const follower = nodes.find((node) => node !== leader())!;
    let n = 0;
    const wave = async (): Promise<void> => {
      for (let i = 0; i < 40; i++)
        void leader()!
          .raftHost!.propose(acquire(++n))
          .catch(() => {});
      await world.runUntil(world.nowMs + 2);
    };
    await wave();
    const loss = follower.crash();
    expect(loss).not.toBeNull();
    expect(follower.raftHost).toBeNull();
    for (let i = 0; i < 3; i++) {
      await wave();
      await runUntil(() => (leader()?.table?.appliedIndex ?? 0) >= n);
    }
    expect(leader()!.table!.appliedIndex).toBeGreaterThanOrEqual(160);
    // The leader compacted behind a snapshot (compactionEntries 50) while the follower was down.
    expect(leader()!.raftHost!.status().snapshotIndex).toBeGreaterThan(0);
    follower.restart();
    const target = leader()!.table!.appliedIndex;
    expect(await runUntil(() => (follower.table?.appliedIndex ?? 0) >= target)).toBe(true);
    expect(follower.raftHost).toBeInstanceOf(RaftHost);
    expect(follower.table!.get("k150")?.held).toBe(true);
  });

  it("is deterministic: the same seed gives the same run", async () => {
    const first = await runHostCatchUp({ seed: 5 });
    const second = await runHostCatchUp({ seed: 5 });
    expect(first.catchUpMs).not.toBeNull();
    expect(second).toEqual(first);
  });
});
