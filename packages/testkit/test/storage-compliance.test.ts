import { describe, expect, it } from "vitest";
import { Prng } from "../src/prng.js";
import { SimDisk } from "../src/sim-host-storage.js";
import type { SimDiskTiming } from "../src/sim-host-storage.js";
// The suite lives with the server's tests, which run it on LevelStorage and the in-memory stores.
import {
  COMPLIANCE_MEMBERS,
  entries,
  hostComplianceStore,
  storageCompliance,
} from "../../server/test/storage/storage-compliance.js";

/** Real timers stand in for the node's: these tests check the store, not the schedule. */
const TIMING: SimDiskTiming = {
  after: (callback, delayMs) => setTimeout(callback, delayMs),
  fsyncDelayMs: () => 1,
};

storageCompliance({
  name: "simulated HostStorage",
  persistent: true,
  open() {
    const disk = new SimDisk(COMPLIANCE_MEMBERS);
    const open = () => Promise.resolve(disk.open(TIMING));
    return Promise.resolve(hostComplianceStore(disk.open(TIMING), open));
  },
});

describe("simulated HostStorage: a crash keeps what was synced", () => {
  it("loses every unsynced batch when nothing of them reached the disk", async () => {
    const disk = new SimDisk(COMPLIANCE_MEMBERS);
    const storage = disk.open(TIMING);
    await storage.write([{ entries: entries(1, 3, 1), mustSync: true }]);
    await storage.write([{ entries: entries(4, 6, 1) }]);
    await storage.write([{ hardState: { term: 1, vote: "n1", commit: 2 } }]);
    expect(storage.lastIndex()).toBe(6);
    expect(disk.unsyncedWrites).toBe(2);
    const loss = disk.crash(new Prng(1), 0);
    expect(loss).toEqual({ unsyncedWrites: 2, survivedWrites: 0 });
    const after = disk.open(TIMING);
    expect(after.lastIndex()).toBe(3);
    expect(after.initialState().hardState).toEqual({ term: 0, vote: null, commit: 0 });
  });

  it("a synced batch makes every batch before it durable", async () => {
    const disk = new SimDisk(COMPLIANCE_MEMBERS);
    const storage = disk.open(TIMING);
    await storage.write([{ entries: entries(1, 3, 1) }]);
    await storage.write([{ hardState: { term: 1, vote: "n1", commit: 0 }, mustSync: true }]);
    expect(disk.unsyncedWrites).toBe(0);
    disk.crash(new Prng(1), 0);
    const after = disk.open(TIMING);
    expect(after.lastIndex()).toBe(3);
    expect(after.initialState().hardState.vote).toBe("n1");
  });

  it("sometimes keeps a prefix of the unsynced batches, never a batch in part", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const disk = new SimDisk(COMPLIANCE_MEMBERS);
      const storage = disk.open(TIMING);
      for (let batch = 0; batch < 5; batch++) {
        await storage.write([{ entries: entries(batch * 3 + 1, batch * 3 + 3, 1) }]);
      }
      const loss = disk.crash(new Prng(seed), 1);
      expect(loss.survivedWrites, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      const after = disk.open(TIMING);
      expect(after.lastIndex(), `seed ${seed}`).toBe(loss.survivedWrites * 3);
    }
  });

  it("a write the process was waiting for when it died never completes", async () => {
    const disk = new SimDisk(COMPLIANCE_MEMBERS);
    const storage = disk.open({
      after: (callback) => setTimeout(callback, 5),
      fsyncDelayMs: () => 5,
    });
    let settled = false;
    storage.write([{ entries: entries(1, 2, 1), mustSync: true }]).then(
      () => (settled = true),
      () => (settled = true),
    );
    disk.crash(new Prng(1), 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    expect(disk.open(TIMING).lastIndex()).toBe(0);
  });
});
