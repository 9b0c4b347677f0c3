import { describe, expect, it } from "vitest";
import type { LockLimits } from "@dlock/server/lock";
import { LockStateMachine } from "@dlock/server/lock";
import { lockStateMachineAdapter } from "../../src/host/lock-state-machine-adapter.js";
import type { ClusterMembers } from "../../src/storage/members-record.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { range, tempDir } from "../storage/helpers.js";

// A node restarted with a lower --waiters-per-key-max than its stored queues: it loads them from
// its data folder (they were valid when written) and only new waiters are refused.

const MEMBERS: ClusterMembers = {
  voters: ["n1"],
  learners: [],
  peerAddresses: { n1: "127.0.0.1:1" },
};
const BEFORE: LockLimits = { electionTimeoutMs: 100, waitersPerKeyMax: 8 };
const AFTER: LockLimits = { electionTimeoutMs: 100, waitersPerKeyMax: 2 };
const WAIT = { ttlMs: 1000, waitMs: 9_000, requestId: 1 } as const;

describe("a restart with a lower waiters-per-key limit", () => {
  it("loads stored queues longer than the limit, for locks and rw keys alike", async () => {
    const { dir, cleanup } = await tempDir("lower-limits");
    try {
      const open = () =>
        LevelStorage.open({ dataDir: dir, clusterId: "c1", nodeId: "n1", initialMembers: MEMBERS });
      // Before: the node led, replicated its limits (8 waiters), and 5 waiters queued on each key.
      const before = new LockStateMachine({ limits: BEFORE });
      let index = 0;
      before.apply(++index, before.limitsProposal()!);
      before.apply(++index, { type: "acquire", key: "lock", value: "h", lockDelayMs: 0, ...WAIT });
      before.apply(++index, { type: "rwAcquire", key: "rw", value: "w", mode: "write", ...WAIT });
      for (let i = 0; i < 5; i++) {
        before.apply(++index, {
          type: "acquire",
          key: "lock",
          value: `q${i}`,
          lockDelayMs: 0,
          ...WAIT,
        });
        before.apply(++index, {
          type: "rwAcquire",
          key: "rw",
          value: `q${i}`,
          mode: "read",
          ...WAIT,
        });
      }
      const storage = await open();
      await storage.write([
        { entries: range(1, index, 1), hardState: { term: 1, vote: "n1", commit: index } },
        {
          lockRecords: lockStateMachineAdapter(before).takeChanges(),
          appliedIndex: index,
          mustSync: true,
        },
      ]);
      await storage.close();

      // After: restarted with waitersPerKeyMax 2.
      const reopened = await open();
      const after = new LockStateMachine({ limits: AFTER });
      await lockStateMachineAdapter(after).loadChunks!(
        reopened.appliedIndex(),
        reopened.lockRecordChunks!(),
      );
      await reopened.close();
      expect(after.waiters("lock")).toHaveLength(5);
      expect(after.semaphoreState("rw")?.waiters).toHaveLength(5);
      expect(after.stateHash()).toBe(before.stateHash());
      // The cluster's limits stay in force until this node leads and sets its own.
      expect(after.tableLimits.limits.waitersPerKeyMax).toBe(8);
      after.apply(++index, after.limitsProposal()!);
      expect(after.tableLimits.limits.waitersPerKeyMax).toBe(2);
      expect(after.waiters("lock")).toHaveLength(5);
      const lock = {
        type: "acquire",
        key: "lock",
        value: "late",
        lockDelayMs: 0,
        ...WAIT,
      } as const;
      expect(after.apply(++index, lock)).toMatchObject({ code: "WAITERS_FULL" });
      const rw = { type: "rwAcquire", key: "rw", value: "late", mode: "read", ...WAIT } as const;
      expect(after.apply(++index, rw)).toMatchObject({ code: "WAITERS_FULL" });
    } finally {
      await cleanup();
    }
  });
});
