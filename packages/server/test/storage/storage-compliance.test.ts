import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStorage } from "@dlock/raft";
import { afterAll } from "vitest";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { MemoryHostStorage } from "../../src/storage/memory-host-storage.js";
import {
  COMPLIANCE_MEMBERS,
  hostComplianceStore,
  storageCompliance,
} from "./storage-compliance.js";
import type { ComplianceStore } from "./storage-compliance.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

storageCompliance({
  name: "LevelStorage",
  persistent: true,
  async open() {
    const dir = await mkdtemp(join(tmpdir(), "dlock-compliance-"));
    dirs.push(dir);
    const open = () =>
      LevelStorage.open({
        dataDir: dir,
        clusterId: "c1",
        nodeId: "n1",
        initialMembers: COMPLIANCE_MEMBERS,
        fsync: false,
      });
    return hostComplianceStore(await open(), open);
  },
});

storageCompliance({
  name: "MemoryHostStorage",
  persistent: true,
  open() {
    const first = MemoryHostStorage.open({ initialMembers: COMPLIANCE_MEMBERS });
    return Promise.resolve(hostComplianceStore(first, () => Promise.resolve(first.reopen())));
  },
});

storageCompliance({
  name: "raft MemoryStorage",
  persistent: false,
  open() {
    const storage = new MemoryStorage({ voters: COMPLIANCE_MEMBERS.voters, learners: [] });
    const store: ComplianceStore = {
      storage,
      append: async (list) => storage.append(list),
      setHardState: async (hardState) => storage.setHardState(hardState),
      install: async (snapshot) => storage.applySnapshot(snapshot),
      async compact(index) {
        storage.createSnapshot(index, storage.initialState().confState, new Uint8Array(0));
        storage.compact(index);
      },
      close: () => Promise.resolve(),
    };
    return Promise.resolve(store);
  },
});
