import { describe, expect, it } from "vitest";
import { checkLockSchedules, lockPlantedBugs } from "../../src/lock/lock-check.js";
import { expectLockBugFound } from "./lock-planted-bug-helpers.js";

// Planted bugs of the request path (LockService) and of the Raft core under it.
describe("planted service and Raft bugs are found", () => {
  it("readWithoutReadIndex: a stale leader answers get from its own table", async () => {
    await expectLockBugFound({
      bug: "readWithoutReadIndex",
      lockProfile: "stale",
      budget: 100,
      seed: 1,
      properties: ["linearizability"],
    });
  });

  it("acknowledgeBeforePersist: the leader acknowledges entries before its fsync", async () => {
    await expectLockBugFound({
      bug: "acknowledgeBeforePersist",
      lockProfile: "default",
      profile: "slowDisk",
      budget: 20,
      seed: 1,
      properties: ["commitDurability", "stateMachineSafety", "acknowledgement"],
    });
  });

  it("shrinks a failing lock schedule and replays it from its seed and path", async () => {
    const plantedBugs = lockPlantedBugs(["noLeaseExtensionOnElection"]);
    const options = { numRuns: 50, seed: 1, lockProfile: "contention" as const, plantedBugs };
    const shrunk = await checkLockSchedules(options);
    const unshrunk = await checkLockSchedules({ ...options, shrink: false });
    expect(shrunk.failure).not.toBeNull();
    expect(unshrunk.failure).not.toBeNull();
    const size = (plan: NonNullable<typeof shrunk.failure>["plan"]): number =>
      plan.raft.faults.length +
      plan.clientFaults.length +
      plan.clients.reduce((ops, client) => ops + client.ops.length, 0);
    expect(size(shrunk.failure!.plan)).toBeLessThan(size(unshrunk.failure!.plan));
    expect(shrunk.failure!.replayCommand).toBe(
      `pnpm sim lock --seed=1 --path=${shrunk.failure!.path} --bug=noLeaseExtensionOnElection ` +
        `--lock-profile=contention`,
    );
    const replay = await checkLockSchedules({ ...options, numRuns: 1, path: shrunk.failure!.path });
    expect(replay.failure?.plan).toEqual(shrunk.failure!.plan);
    expect(replay.failure?.property).toBe(shrunk.failure!.property);
    // CPU-bound (two searches and a shrink): 57 s at load 25, past the default minute on busy CI.
  }, 300_000);
});
