import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CompactedError, UnavailableError } from "@dlock/raft";
import type { Snapshot } from "@dlock/raft";
import { LevelStorage } from "../../src/storage/level-storage.js";
import type { StorageOpenOptions } from "../../src/storage/level-storage.js";
import { StorageError } from "../../src/storage/errors.js";
import { normal, range, tempDir } from "./helpers.js";

const VOTERS = { voters: ["n1", "n2", "n3"], learners: [] };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function expectCode(promise: Promise<unknown>, code: string): Promise<StorageError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe(code);
  return error as StorageError;
}

describe("LevelStorage", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: LevelStorage | null = null;
  const open = async (extra: Partial<StorageOpenOptions> = {}): Promise<LevelStorage> => {
    storage = await LevelStorage.open({
      dataDir: dir,
      clusterId: "c1",
      nodeId: "n1",
      initialConfState: VOTERS,
      ...extra,
    });
    return storage;
  };
  const reopen = async (): Promise<LevelStorage> => {
    await storage?.close();
    return open();
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("storage"));
  });
  afterEach(async () => {
    await storage?.close();
    storage = null;
    await cleanup();
  });

  it("bootstraps a fresh folder with the initial membership and an empty log", async () => {
    const s = await open();
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: null, commit: 0 },
      confState: VOTERS,
    });
    expect([s.firstIndex(), s.lastIndex(), s.term(0), s.appliedIndex()]).toEqual([1, 0, 0, 0]);
    expect(s.snapshot().metadata.index).toBe(0);
    const again = await reopen();
    expect(again.initialState().confState).toEqual(VOTERS);
  });

  it("refuses a folder of another cluster or another node with typed errors", async () => {
    await open();
    await storage?.close();
    storage = null;
    await expectCode(open({ clusterId: "other" }), "CLUSTER_MISMATCH");
    await expectCode(open({ nodeId: "n2" }), "NODE_MISMATCH");
    // The refused opens released the folder: the right identity still opens it.
    await open();
  });

  it("refuses a folder another process (or instance) holds open, typed", async () => {
    await open();
    const error = await expectCode(
      LevelStorage.open({ dataDir: dir, clusterId: "c1", nodeId: "n1", initialConfState: VOTERS }),
      "OPEN_FAILED",
    );
    expect(error.message).toContain(dir);
  });

  it("keeps entries, hard state, membership, lock records and applied index across reopen", async () => {
    const s = await open();
    await s.write([
      { entries: range(1, 5, 1), hardState: { term: 1, vote: "n1", commit: 3 }, mustSync: true },
      {
        lockRecords: [
          ["a", bytes("A")],
          ["b", bytes("B")],
        ],
        appliedIndex: 3,
        confState: { voters: ["n1", "n2", "n3"], learners: ["n4"] },
      },
    ]);
    expect(s.lastIndex()).toBe(5);
    const r = await reopen();
    expect(r.initialState()).toEqual({
      hardState: { term: 1, vote: "n1", commit: 3 },
      confState: { voters: ["n1", "n2", "n3"], learners: ["n4"] },
    });
    expect(r.entries(1, 6, Infinity)).toEqual(range(1, 5, 1));
    expect(r.appliedIndex()).toBe(3);
    expect(await r.readLockRecords()).toEqual([
      ["a", bytes("A")],
      ["b", bytes("B")],
    ]);
    await r.write([{ lockRecords: [["a", null]], appliedIndex: 4 }]);
    const r2 = await reopen();
    expect(await r2.readLockRecords()).toEqual([["b", bytes("B")]]);
    expect(r2.appliedIndex()).toBe(4);
  });

  it("overwrites a conflicting suffix and forgets the entries past it", async () => {
    const s = await open();
    await s.write([{ entries: range(1, 5, 1), mustSync: true }]);
    await s.write([{ entries: range(3, 4, 2), mustSync: true }]);
    expect([s.lastIndex(), s.term(2), s.term(3), s.term(4)]).toEqual([4, 1, 2, 2]);
    const r = await reopen();
    expect(r.lastIndex()).toBe(4);
    expect(r.entries(1, 5, Infinity).map((e) => e.term)).toEqual([1, 1, 2, 2]);
    expect(() => r.term(5)).toThrowError(UnavailableError);
  });

  it("writes several writes in order as one batch (later overrides earlier)", async () => {
    const s = await open();
    await s.write([
      { entries: range(1, 3, 1) },
      { entries: range(4, 6, 1), lockRecords: [["k", bytes("1")]] },
      { entries: range(5, 5, 2), lockRecords: [["k", bytes("2")]], mustSync: true },
    ]);
    expect(s.stats.batches).toBe(1);
    expect(s.stats.syncedBatches).toBe(1);
    expect(s.lastIndex()).toBe(5);
    const r = await reopen();
    expect(r.entries(1, 6, Infinity).map((e) => e.term)).toEqual([1, 1, 1, 1, 2]);
    expect(await r.readLockRecords()).toEqual([["k", bytes("2")]]);
  });

  it("returns entries within maxBytes but always at least one", async () => {
    const s = await open();
    await s.write([
      { entries: [normal(1, 1, "aaaa"), normal(2, 1, "bbbb"), normal(3, 1, "cccc")] },
    ]);
    expect(s.entries(1, 4, 8).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 4, 1).map((e) => e.index)).toEqual([1]);
    expect(s.entries(2, 2, 100)).toEqual([]);
    expect(() => s.entries(1, 5, 100)).toThrowError(UnavailableError);
  });

  it("rejects a write that leaves a gap in the log, and stays usable", async () => {
    const s = await open();
    await s.write([{ entries: range(1, 2, 1) }]);
    await expectCode(s.write([{ entries: range(4, 4, 1) }]), "INVALID_WRITE");
    await expectCode(s.write([{ appliedIndex: 2 }, { appliedIndex: 1 }]), "INVALID_WRITE");
    expect(s.failed()).toBeNull();
    await s.write([{ entries: range(3, 3, 1) }]);
    expect(s.lastIndex()).toBe(3);
  });

  it("compacts only behind a durable lock table, and restarts from snapshot + tail", async () => {
    const s = await open();
    await s.write([{ entries: range(1, 10, 1), mustSync: true }, { appliedIndex: 4 }]);
    const snap = (index: number, term = 1): Snapshot => ({
      metadata: { index, term, confState: VOTERS },
      data: bytes(`state@${index}`),
    });
    await expectCode(s.compact(snap(6)), "COMPACTION_REFUSED");
    await expectCode(s.compact(snap(4, 9)), "COMPACTION_REFUSED");
    await expectCode(s.compact(snap(11)), "COMPACTION_REFUSED");
    expect(s.failed()).toBeNull();
    await s.compact(snap(4));
    expect([s.firstIndex(), s.lastIndex(), s.term(4)]).toEqual([5, 10, 1]);
    expect(() => s.term(3)).toThrowError(CompactedError);
    expect(() => s.entries(4, 6, 100)).toThrowError(CompactedError);
    await expectCode(s.compact(snap(4)), "COMPACTION_REFUSED");
    const r = await reopen();
    expect([r.firstIndex(), r.lastIndex()]).toEqual([5, 10]);
    expect(r.snapshot()).toEqual(snap(4));
    expect(r.entries(5, 11, Infinity)).toEqual(range(5, 10, 1));
  });

  it("installs a snapshot from the leader: the old log is gone, new entries follow it", async () => {
    const s = await open();
    await s.write([
      { entries: range(1, 5, 1), mustSync: true },
      { lockRecords: [["old", bytes("x")]], appliedIndex: 2 },
    ]);
    const snapshot: Snapshot = {
      metadata: { index: 20, term: 3, confState: VOTERS },
      data: bytes("leader state"),
    };
    await s.write([
      { snapshot, hardState: { term: 3, vote: null, commit: 20 }, mustSync: true },
      { entries: range(21, 22, 3) },
      { resetLockTable: true, lockRecords: [["new", bytes("y")]], appliedIndex: 20 },
    ]);
    expect([s.firstIndex(), s.lastIndex(), s.term(20)]).toEqual([21, 22, 3]);
    const r = await reopen();
    expect([r.firstIndex(), r.lastIndex(), r.appliedIndex()]).toEqual([21, 22, 20]);
    expect(r.snapshot()).toEqual(snapshot);
    expect(await r.readLockRecords()).toEqual([["new", bytes("y")]]);
    expect(r.entries(21, 23, Infinity)).toEqual(range(21, 22, 3));
  });

  it("fails typed on a disk error, refuses later writes, and keeps the durable state intact", async () => {
    let failNext = false;
    const s = await open({
      writeFault: () =>
        failNext
          ? Object.assign(new Error("ENOSPC: no space left"), { code: "ENOSPC" })
          : undefined,
    });
    await s.write([{ entries: range(1, 3, 1), mustSync: true }]);
    failNext = true;
    const error = await expectCode(
      s.write([{ entries: range(4, 6, 1), mustSync: true }]),
      "WRITE_FAILED",
    );
    expect(String((error.cause as Error).message)).toMatch(/ENOSPC/);
    expect(s.failed()).toBe(error);
    expect(s.lastIndex()).toBe(3);
    failNext = false;
    await expectCode(s.write([{ entries: range(4, 4, 1) }]), "STORAGE_FAILED");
    await expectCode(
      s.compact({ metadata: { index: 1, term: 1, confState: VOTERS }, data: bytes("") }),
      "STORAGE_FAILED",
    );
    const r = await reopen();
    expect(r.lastIndex()).toBe(3);
    expect(r.failed()).toBeNull();
  });

  it("refuses writes after close", async () => {
    const s = await open();
    await s.close();
    await expectCode(s.write([{ entries: range(1, 1, 1) }]), "CLOSED");
    storage = null;
  });
});
