import fc from "fast-check";
import { RaftHost } from "@dlock/server/internal";
import type { RoleChange } from "@dlock/server/internal";
import { describe, expect, it, vi } from "vitest";
import { hostedRaftCluster } from "../src/hosted-raft-cluster.js";
import { planArbitrary } from "../src/plan-arbitrary.js";
import { clusterOptionsOf, runSchedule } from "../src/run-schedule.js";

// The Raft-level simulator runs the production host: every node runs RaftHost (the class
// DlockServer runs) on virtual time; there is no other Ready loop.
describe("Raft-level schedules on the production RaftHost", () => {
  it("start RaftHost itself on every node start, and replay exactly", async () => {
    const start = vi.spyOn(RaftHost, "start");
    try {
      const plans = fc.sample(planArbitrary({ faultsMax: 6 }), { seed: 1204, numRuns: 3 });
      for (const plan of plans) {
        start.mockClear();
        const first = await runSchedule(plan);
        expect(first.violation?.message ?? null).toBeNull();
        // One host per node start (restarts and joiners included), each the production class.
        expect(start.mock.calls.length).toBeGreaterThanOrEqual(plan.nodeCount + first.crashes);
        for (const result of start.mock.results) {
          expect(await (result.value as Promise<unknown>)).toBeInstanceOf(RaftHost);
        }
        const second = await runSchedule(structuredClone(plan));
        expect(second.traceHash).toBe(first.traceHash);
        expect(second.events).toBe(first.events);
        expect(first.committedIndex).toBeGreaterThan(0);
      }
    } finally {
      start.mockRestore();
    }
  });

  it("drives each node's RaftHost by the node's virtual clock", async () => {
    const [plan] = fc.sample(planArbitrary({ faultsMax: 0 }), { seed: 7, numRuns: 1 });
    const { cluster, world, hostOf, violation } = hostedRaftCluster(clusterOptionsOf(plan!));
    cluster.start();
    const changes: { id: string; change: RoleChange; clockMs: number }[] = [];
    let watched = false;
    const elected = (): boolean => {
      if (!watched && [...cluster.nodes.keys()].every((id) => hostOf(id) !== null)) {
        watched = true;
        for (const node of cluster.nodes.values()) {
          hostOf(node.id)!.onRoleChange((change) =>
            // The process clock starts at 0 and runs at the node's rate.
            changes.push({ id: node.id, change, clockMs: world.nowMs * node.clockRate }),
          );
        }
      }
      return changes.some(({ change }) => change.role === "leader");
    };
    await world.runUntil(60_000, elected);
    expect(violation()).toBeNull();
    const leader = cluster.leader();
    expect(leader).toBeDefined();
    const host = hostOf(leader!.id);
    expect(host).toBeInstanceOf(RaftHost);
    expect(host!.status().role).toBe("leader");
    expect(host!.status().term).toBe(leader!.term);
    // The host's own clock (options.now) is the simulated one: virtual, not wall-clock, time.
    const won = changes.find(({ change }) => change.role === "leader")!;
    expect(won.id).toBe(leader!.id);
    expect(won.change.atMs).toBeCloseTo(won.clockMs, 6);
    expect(won.change.atMs).toBeLessThan(60_000 * 1.1);
  });
});
