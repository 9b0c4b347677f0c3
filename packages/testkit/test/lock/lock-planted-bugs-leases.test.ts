import { describe, it } from "vitest";
import { expectLockBugFound } from "./lock-planted-bug-helpers.js";

// Planted bugs of the lock table and the leader's lease manager (@dlock/server/lock).
describe("planted lease bugs are found", () => {
  it("noLeaseExtensionOnElection: a new leader expires held leases at once", async () => {
    await expectLockBugFound({
      bug: "noLeaseExtensionOnElection",
      lockProfile: "contention",
      budget: 50,
      seed: 1,
      properties: ["mutualExclusion"],
    });
  });

  it("expireIgnoresRefresh: an expire racing a refresh ends the refreshed lease", async () => {
    await expectLockBugFound({
      bug: "expireIgnoresRefresh",
      lockProfile: "races",
      budget: 150,
      seed: 1,
      properties: ["mutualExclusion"],
    });
  });

  it("grantWaiterWithoutLeaseCheck: a granted waiter keeps its short queue lease", async () => {
    await expectLockBugFound({
      bug: "grantWaiterWithoutLeaseCheck",
      lockProfile: "contention",
      budget: 50,
      seed: 1,
      // The lease manager times semaphore waiters' grants too: a granted permit waiter that keeps
      // its short queue lease overcommits the semaphore as surely as it breaks a lock.
      properties: ["mutualExclusion", "semaphoreCapacity"],
    });
  });
});
