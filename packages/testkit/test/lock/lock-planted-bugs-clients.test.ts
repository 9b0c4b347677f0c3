import { describe, it } from "vitest";
import { expectLockBugFound } from "./lock-planted-bug-helpers.js";

// Planted bugs of the client's validity arithmetic (@dlock/client), and a misuse of the wall
// clock that shows clock jumps would matter to anything that read it.
describe("planted client bugs are found", () => {
  it("ignoreDrift: the client trusts its lease for the full ttl", async () => {
    await expectLockBugFound({
      bug: "ignoreDrift",
      lockProfile: "contention",
      budget: 200,
      seed: 1,
      // The client's validity arithmetic serves every leased primitive alike: a holder that trusts
      // its lease too long overlaps the next one on a lock key or overfills a semaphore, whichever
      // the schedule shows first.
      properties: ["mutualExclusion", "semaphoreCapacity"],
    });
  });

  it("timerFromReply: the client starts its validity when the answer arrives", async () => {
    await expectLockBugFound({
      bug: "timerFromReply",
      lockProfile: "default",
      budget: 100,
      seed: 1,
      properties: ["mutualExclusion"],
    });
  });

  it("clientUsesWallClock: a client that measures validity on the wall clock", async () => {
    await expectLockBugFound({
      bug: "clientUsesWallClock",
      lockProfile: "races",
      budget: 100,
      seed: 1,
      properties: ["mutualExclusion", "fencing"],
    });
  });

  it("leasesUseWallClock: a leader that measures leases on the wall clock", async () => {
    await expectLockBugFound({
      bug: "leasesUseWallClock",
      lockProfile: "contention",
      budget: 100,
      seed: 3,
      // A jump back keeps leases from ending: then no one can take the key again in time.
      properties: ["mutualExclusion", "fencing", "linearizability", "lockLiveness"],
    });
  });
});
