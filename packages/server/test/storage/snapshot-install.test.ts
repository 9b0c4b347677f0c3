// A snapshot from the leader is installed in batches under a marker: a crash between any two of
// its writes leaves, once the folder is opened again, either the old state or the whole new one.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Snapshot } from "@dlock/raft";
import { LevelStorage } from "../../src/storage/level-storage.js";
import type { StorageWrite } from "../../src/storage/level-storage.js";
import { StorageError } from "../../src/storage/errors.js";
import { META_INSTALLING, META_MEMBERS, lockKey } from "../../src/storage/keys.js";
import { encodeMembers } from "../../src/storage/members-record.js";
import { SnapshotEncoder } from "../../src/storage/snapshot-format.js";
import { range, rawDb, tempDir } from "./helpers.js";
import {
  MEMBERS,
  NEW_MEMBERS,
  NEW_METADATA,
  NEW_RECORDS as NEW,
  VOTERS,
  bytes,
  encodeSnapshot,
  oldRecords,
} from "./install-fixtures.js";

const OLD = oldRecords(3000);

function newSnapshot(): Snapshot {
  return { metadata: NEW_METADATA, data: encodeSnapshot(NEW) };
}

describe("LevelStorage: snapshot install in batches", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: LevelStorage | null = null;
  // Writes (batches, clears, the snapshot file) counted from arming; the one numbered failAt fails.
  let armed = false;
  let writes = 0;
  let failAt = 0;

  const open = async (): Promise<LevelStorage> => {
    storage = await LevelStorage.open({
      dataDir: dir,
      clusterId: "c1",
      nodeId: "n1",
      initialMembers: MEMBERS,
      writeFault: () => {
        if (!armed) return undefined;
        return ++writes === failAt ? new Error("EIO: injected") : undefined;
      },
    });
    return storage;
  };
  const reopen = async (): Promise<LevelStorage> => {
    armed = false;
    await storage?.close();
    return open();
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("install"));
    armed = false;
    writes = 0;
  });
  afterEach(async () => {
    await storage?.close();
    storage = null;
    await cleanup();
  });

  async function withOldState(): Promise<LevelStorage> {
    const s = await open();
    await s.write([
      { entries: range(1, 50, 1), hardState: { term: 1, vote: "n2", commit: 40 }, mustSync: true },
      { lockRecords: OLD, appliedIndex: 40 },
    ]);
    return s;
  }

  const install: StorageWrite[] = [
    { snapshot: newSnapshot(), mustSync: true },
    { entries: range(9001, 9002, 3), mustSync: true },
  ];

  async function expectOld(s: LevelStorage): Promise<void> {
    expect(s.finishedInstall).toBeNull();
    expect([s.snapshot().metadata.index, s.appliedIndex(), s.lastIndex()]).toEqual([0, 40, 50]);
    expect(await s.readLockRecords()).toEqual(OLD);
    expect(s.appliedMembers()).toEqual(MEMBERS);
    expect(s.initialState().hardState).toEqual({ term: 1, vote: "n2", commit: 40 });
  }

  async function expectNew(s: LevelStorage, withTail: boolean): Promise<void> {
    expect(s.snapshot().metadata).toEqual(install[0]!.snapshot!.metadata);
    expect([s.appliedIndex(), s.firstIndex(), s.lastIndex()]).toEqual([
      9000,
      9001,
      withTail ? 9002 : 9000,
    ]);
    expect(await s.readLockRecords()).toEqual(NEW);
    expect(s.appliedMembers()).toEqual(NEW_MEMBERS);
    expect(await rawDb(s).get(META_INSTALLING)).toBeUndefined();
  }

  it("installs the whole table and leaves no marker", async () => {
    const s = await withOldState();
    armed = true;
    await s.write(install);
    // The snapshot file, the marker, the clear, four batches of records, the switching batch.
    expect(writes).toBe(8);
    await expectNew(s, true);
    await expectNew(await reopen(), true);
  });

  // The numbers of the failing write: 1 the snapshot file, 2 the marker, 3 the old table's
  // deletion, 4-7 the batches of records, 8 the batch that switches to the snapshot.
  for (const [at, after] of [
    [1, "old"],
    [2, "old"],
    [3, "new"],
    [5, "new"],
    [7, "new"],
    [8, "new"],
  ] as const) {
    it(`a crash at write ${at} of the install leaves the ${after} state once reopened`, async () => {
      const s = await withOldState();
      armed = true;
      failAt = at;
      await expect(s.write(install)).rejects.toBeInstanceOf(StorageError);
      const r = await reopen();
      if (after === "old") {
        await expectOld(r);
        return;
      }
      expect(r.finishedInstall).toBe(9000);
      // The entries after the snapshot were in the batch that never landed: the leader resends.
      await expectNew(r, false);
      // The hard state keeps the vote of its term only if the term did not move past it.
      expect(r.initialState().hardState).toEqual({ term: 3, vote: null, commit: 9000 });
      expect((await reopen()).finishedInstall).toBeNull();
    });
  }

  it("takes the same write again after a failed batch, as the host retries it", async () => {
    const s = await withOldState();
    armed = true;
    failAt = 5;
    await expect(s.write(install)).rejects.toMatchObject({ code: "WRITE_FAILED" });
    expect(s.appliedIndex()).toBe(40);
    await s.write(install);
    await expectNew(s, true);
    await expectNew(await reopen(), true);
  });

  it("refuses a snapshot with a record outside the lock table, or no members, before writing anything", async () => {
    const s = await withOldState();
    const cases: Array<Array<[Uint8Array, Uint8Array]>> = [
      [[Buffer.from("m:hardState"), bytes("x")]],
      [[Buffer.alloc(0), bytes("empty key")]],
      [[META_MEMBERS.subarray(0, META_MEMBERS.length - 1), bytes("a shorter key")]],
    ];
    for (const [i, extra] of cases.entries()) {
      const encoder = new SnapshotEncoder(9000, 3);
      encoder.add(lockKey("a"), bytes("A"));
      for (const [key, value] of extra) encoder.add(key, value);
      // The last case has no members record: only a key one byte short of it.
      if (i < cases.length - 1) encoder.add(META_MEMBERS, encodeMembers(NEW_MEMBERS));
      const snapshot: Snapshot = {
        metadata: { index: 9000, term: 3, confState: VOTERS },
        data: encoder.finish(),
      };
      await expect(s.write([{ snapshot, mustSync: true }])).rejects.toMatchObject({
        code: "INVALID_WRITE",
      });
      await expectOld(s);
    }
    await expectOld(await reopen());
  });
});
