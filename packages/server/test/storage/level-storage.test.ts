import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { CompactedError, UnavailableError } from "@dlock/raft";
import type { Snapshot } from "@dlock/raft";
import { LevelStorage, WRITE_STEP_PUTS } from "../../src/storage/level-storage.js";
import type { StorageOpenOptions } from "../../src/storage/level-storage.js";
import { StorageError } from "../../src/storage/errors.js";
import { ENTRY_RANGE, META_MEMBERS, entryKey, lockKey } from "../../src/storage/keys.js";
import { decodeUint64, encodeEntry } from "../../src/storage/codec.js";
import { encodeMembers } from "../../src/storage/members-record.js";
import type { ClusterMembers } from "../../src/storage/members-record.js";
import {
  SnapshotEncoder,
  snapshotProblem,
  snapshotRecords,
} from "../../src/storage/snapshot-format.js";
import { SNAPSHOT_FOLDER } from "../../src/storage/snapshot-files.js";
import { wholeSnapshot } from "../../src/storage/snapshot-file-bytes.js";
import { normal, range, rawDb, tempDir } from "./helpers.js";

const VOTERS = { voters: ["n1", "n2", "n3"], learners: [] };
const MEMBERS: ClusterMembers = {
  ...VOTERS,
  peerAddresses: { n1: "127.0.0.1:1", n2: "127.0.0.1:2", n3: "127.0.0.1:3" },
};
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

/** The stored value of the entry range(index, index, 1) holds. */
function rawEntry(index: number): Buffer {
  return encodeEntry(range(index, index, 1)[0]);
}

/** Indexes of the log entries stored in LevelDB (whatever the snapshot index). */
async function storedEntryIndexes(s: LevelStorage): Promise<number[]> {
  const out: number[] = [];
  for await (const key of rawDb(s).keys(ENTRY_RANGE)) out.push(decodeUint64(key, 1));
  return out;
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
      initialMembers: MEMBERS,
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
      LevelStorage.open({ dataDir: dir, clusterId: "c1", nodeId: "n1", initialMembers: MEMBERS }),
      "OPEN_FAILED",
    );
    expect(error.message).toContain(dir);
  });

  it("keeps entries, hard state, members, lock records and applied index across reopen", async () => {
    const s = await open();
    const grown: ClusterMembers = {
      voters: ["n1", "n2", "n3"],
      learners: ["n4"],
      peerAddresses: { ...MEMBERS.peerAddresses, n4: "127.0.0.1:4" },
    };
    await s.write([
      { entries: range(1, 5, 1), hardState: { term: 1, vote: "n1", commit: 3 }, mustSync: true },
      {
        lockRecords: [
          ["a", bytes("A")],
          ["b", bytes("B")],
        ],
        appliedIndex: 3,
        members: grown,
      },
    ]);
    expect(s.lastIndex()).toBe(5);
    const r = await reopen();
    // The core's membership base is the snapshot's (bootstrap here); config entries replay on it.
    expect(r.initialState()).toEqual({
      hardState: { term: 1, vote: "n1", commit: 3 },
      confState: VOTERS,
    });
    expect(r.appliedMembers()).toEqual(grown);
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

  it("builds a large batch over turns of the event loop, and writes it whole", async () => {
    const s = await open();
    // Count the puts into the batch as the storage builds it.
    const db = rawDb(s);
    type Batch = { put(key: Buffer, value: Buffer): Batch };
    const makeBatch = (db.batch as unknown as () => Batch).bind(db);
    let puts = 0;
    (db as unknown as { batch: () => Batch }).batch = () => {
      const batch = makeBatch();
      const put = batch.put.bind(batch);
      batch.put = (key, value) => {
        puts++;
        return put(key, value);
      };
      return batch;
    };
    const entries = 3 * WRITE_STEP_PUTS + 5;
    const lockRecords = WRITE_STEP_PUTS + 1;
    const written = s.write([
      {
        entries: range(1, entries, 1),
        lockRecords: Array.from({ length: lockRecords }, (_, i) => [`k${i}`, bytes(`${i}`)]),
        appliedIndex: 3,
        mustSync: true,
      },
    ]);
    // Building starts in microtasks; an immediate queued now runs after the first step's puts.
    const seenAtImmediates: number[] = [];
    const watch = (): void => {
      seenAtImmediates.push(puts);
      if (seenAtImmediates.length < 3) setImmediate(watch);
    };
    setImmediate(watch);
    await written;
    expect(seenAtImmediates.slice(0, 2)).toEqual([WRITE_STEP_PUTS, 2 * WRITE_STEP_PUTS]);
    expect(s.stats.batches).toBe(1);
    const r = await reopen();
    expect(r.lastIndex()).toBe(entries);
    expect(r.entries(1, entries + 1, Infinity)).toEqual(range(1, entries, 1));
    expect((await r.readLockRecords()).length).toBe(lockRecords);
    expect(r.appliedIndex()).toBe(3);
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

  it("compacts at the durable applied index, keeps the tail, and restarts from snapshot + tail", async () => {
    const s = await open();
    await s.write([
      { entries: range(1, 10, 1), mustSync: true },
      { lockRecords: [["a", bytes("A")]], appliedIndex: 4 },
    ]);
    // Key (9 bytes) + kind and term (9) + payload ("e1".."e9": 2 bytes, "e10": 3) per entry.
    expect([s.logEntries(), s.logBytes()]).toEqual([10, 9 * (9 + 9 + 2) + (9 + 9 + 3)]);
    const metadata = await s.createSnapshot();
    expect(metadata).toEqual({ index: 4, term: 1, confState: VOTERS });
    expect([s.firstIndex(), s.lastIndex(), s.term(4), s.logEntries()]).toEqual([5, 10, 1, 6]);
    expect(() => s.term(3)).toThrowError(CompactedError);
    expect(() => s.entries(4, 6, 100)).toThrowError(CompactedError);
    const data = wholeSnapshot(s.snapshot()).data;
    expect(snapshotProblem(data, { index: 4, term: 1 })).toBeNull();
    expect([...snapshotRecords(data)].map(([k, v]) => [k.toString(), v.toString()])).toEqual([
      [lockKey("a").toString(), "A"],
      ["m:members", encodeMembers(MEMBERS).toString()],
    ]);
    // Nothing more applied: nothing more to compact.
    expect(await s.createSnapshot()).toBeNull();
    const r = await reopen();
    expect([r.firstIndex(), r.lastIndex(), r.appliedIndex()]).toEqual([5, 10, 4]);
    expect(r.snapshot().metadata).toEqual(metadata);
    expect(Buffer.from(wholeSnapshot(r.snapshot()).data).equals(Buffer.from(data))).toBe(true);
    expect(r.entries(5, 11, Infinity)).toEqual(range(5, 10, 1));
  });

  it("deletes every stored entry a compaction covers, including ones an interrupted compaction left", async () => {
    const s = await open();
    await s.write([
      { entries: range(1, 10, 1), mustSync: true },
      { lockRecords: [["a", bytes("A")]], appliedIndex: 4 },
    ]);
    expect((await s.createSnapshot())?.index).toBe(4);
    // As if a crash had cut that compaction short before its entries were deleted.
    await rawDb(s).put(entryKey(2), rawEntry(2));
    await rawDb(s).put(entryKey(3), rawEntry(3));
    const r = await reopen();
    expect([r.firstIndex(), r.lastIndex()]).toEqual([5, 10]);
    await r.write([{ lockRecords: [["b", bytes("B")]], appliedIndex: 8 }]);
    expect((await r.createSnapshot())?.index).toBe(8);
    expect(await storedEntryIndexes(r)).toEqual([9, 10]);
    const again = await reopen();
    expect([again.firstIndex(), again.lastIndex()]).toEqual([9, 10]);
    expect(again.entries(9, 11, Infinity)).toEqual(range(9, 10, 1));
  });

  it("snapshots the state as of the point it was taken while writes go on, and deletes older files", async () => {
    const s = await open();
    const records: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 5000; i++)
      records.push([`key-${String(i).padStart(5, "0")}`, bytes(`v${i}`)]);
    await s.write([
      { entries: range(1, 20, 1), mustSync: true },
      { lockRecords: records, appliedIndex: 10 },
    ]);
    const first = await s.createSnapshot();
    expect(first?.index).toBe(10);
    await s.write([{ lockRecords: [["late", bytes("L")]], appliedIndex: 12 }]);
    // Started before the writes below: it must show index 15's state exactly, not theirs.
    await s.write([{ lockRecords: [["key-00000", null]], appliedIndex: 15 }]);
    const taking = s.createSnapshot();
    const during = s.write([
      {
        lockRecords: [
          ["after", bytes("X")],
          ["key-00001", null],
        ],
        appliedIndex: 18,
      },
    ]);
    await Promise.all([taking, during]);
    expect((await taking)?.index).toBe(15);
    const keys = [...snapshotRecords(wholeSnapshot(s.snapshot()).data)].map(([k]) =>
      k.toString().slice(1),
    );
    expect(keys).toContain("late");
    expect(keys).toContain("key-00001");
    expect(keys).not.toContain("key-00000");
    expect(keys).not.toContain("after");
    expect(keys.length).toBe(5000 - 1 + 1 + 1); // records - deleted + late + members
    const files = await readdir(join(dir, SNAPSHOT_FOLDER));
    expect(files).toEqual([`${"1".padStart(16, "0")}-${"f".padStart(16, "0")}.snap`]);
  });

  it("installs a snapshot from the leader with its table and members in one batch", async () => {
    const s = await open();
    await s.write([
      { entries: range(1, 5, 1), mustSync: true },
      { lockRecords: [["old", bytes("x")]], appliedIndex: 2 },
    ]);
    const leaderMembers: ClusterMembers = {
      voters: ["n1", "n2", "n3"],
      learners: ["n5"],
      peerAddresses: { ...MEMBERS.peerAddresses, n5: "127.0.0.1:5" },
    };
    const encoder = new SnapshotEncoder(20, 3);
    encoder.add(lockKey("new"), bytes("y"));
    encoder.add(META_MEMBERS, encodeMembers(leaderMembers));
    const snapshot: Snapshot = {
      metadata: { index: 20, term: 3, confState: { voters: ["n1", "n2", "n3"], learners: ["n5"] } },
      data: encoder.finish(),
    };
    await s.write([
      { snapshot, hardState: { term: 3, vote: null, commit: 20 }, mustSync: true },
      { entries: range(21, 22, 3) },
    ]);
    expect([s.firstIndex(), s.lastIndex(), s.term(20), s.appliedIndex()]).toEqual([21, 22, 3, 20]);
    expect(s.stats.snapshotsInstalled).toBe(1);
    const r = await reopen();
    expect([r.firstIndex(), r.lastIndex(), r.appliedIndex()]).toEqual([21, 22, 20]);
    expect(r.snapshot().metadata).toEqual(snapshot.metadata);
    expect(r.initialState().confState).toEqual(snapshot.metadata.confState);
    expect(r.appliedMembers()).toEqual(leaderMembers);
    expect(await r.readLockRecords()).toEqual([["new", bytes("y")]]);
    expect(r.entries(21, 23, Infinity)).toEqual(range(21, 22, 3));
  });

  it("installs a snapshot of thousands of records exactly, with writes submitted meanwhile after it", async () => {
    const s = await open();
    const old: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 5000; i++) old.push([`old-${String(i).padStart(5, "0")}`, bytes(`o${i}`)]);
    await s.write([
      { entries: range(1, 5000, 1), mustSync: true },
      { lockRecords: old, appliedIndex: 5 },
    ]);
    // More records and entries than one step of the install: the batch is built over several turns.
    const encoder = new SnapshotEncoder(9000, 3);
    const expected: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 7000; i++) {
      const key = `new-${String(i).padStart(5, "0")}`;
      encoder.add(lockKey(key), bytes(`n${i}`));
      expected.push([key, bytes(`n${i}`)]);
    }
    encoder.add(META_MEMBERS, encodeMembers(MEMBERS));
    const snapshot: Snapshot = {
      metadata: { index: 9000, term: 3, confState: VOTERS },
      data: encoder.finish(),
    };
    const installing = s.write([{ snapshot, mustSync: true }]);
    const after = s.write([{ entries: range(9001, 9002, 3) }]);
    await Promise.all([installing, after]);
    expect([s.firstIndex(), s.lastIndex(), s.appliedIndex()]).toEqual([9001, 9002, 9000]);
    expect(await s.readLockRecords()).toEqual(expected);
    expect(await storedEntryIndexes(s)).toEqual([9001, 9002]);
    const r = await reopen();
    expect(await r.readLockRecords()).toEqual(expected);
    expect(r.entries(9001, 9003, Infinity)).toEqual(range(9001, 9002, 3));
  });

  it("keeps its snapshot in the file and reads the chunks a follower is sent from there", async () => {
    const s = await open();
    // Over a megabyte: the check at open reads the file in several steps.
    const records: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 20_000; i++) records.push([`key-${i}`, new Uint8Array(60).fill(i % 251)]);
    await s.write([
      { entries: range(1, 3, 1), mustSync: true },
      { lockRecords: records, appliedIndex: 3 },
    ]);
    await s.createSnapshot();
    const readBack = (from: LevelStorage): Buffer => {
      const { data } = from.snapshot();
      // Not held as one buffer; read in the chunks the Raft core asks for.
      expect(data).not.toBeInstanceOf(Uint8Array);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < data.byteLength; at += 300_000) {
        chunks.push(data.subarray(at, Math.min(data.byteLength, at + 300_000)));
      }
      return Buffer.concat(chunks);
    };
    const data = readBack(s);
    expect(data.length).toBeGreaterThan(1024 * 1024);
    const [file] = await readdir(join(dir, SNAPSHOT_FOLDER));
    const { readFile } = await import("node:fs/promises");
    expect(data.equals(await readFile(join(dir, SNAPSHOT_FOLDER, file)))).toBe(true);
    expect(snapshotProblem(data, { index: 3, term: 1 })).toBeNull();
    expect(readBack(await reopen()).equals(data)).toBe(true);
    // A follower's installed snapshot, too, is read from its file after the install.
    const { dir: otherDir, cleanup: cleanupOther } = await tempDir("storage-follower");
    const follower = await LevelStorage.open({
      dataDir: otherDir,
      clusterId: "c1",
      nodeId: "n2",
      initialMembers: MEMBERS,
    });
    try {
      // Checked a megabyte at a time: damage past the first one is found too.
      const damaged = Buffer.from(data);
      damaged[1024 * 1024 + 100] ^= 0x01;
      await expectCode(
        follower.write([
          { snapshot: { metadata: s.snapshot().metadata, data: damaged }, mustSync: true },
        ]),
        "INVALID_WRITE",
      );
      await follower.write([
        { snapshot: { metadata: s.snapshot().metadata, data }, mustSync: true },
      ]);
      expect(readBack(follower).equals(data)).toBe(true);
    } finally {
      await follower.close();
      await cleanupOther();
    }
  });

  it("refuses a corrupted snapshot from the leader without touching the stored state", async () => {
    const s = await open();
    await s.write([{ entries: range(1, 3, 1), mustSync: true }, { appliedIndex: 2 }]);
    const encoder = new SnapshotEncoder(9, 2);
    encoder.add(META_MEMBERS, encodeMembers(MEMBERS));
    const data = encoder.finish();
    data[data.length - 7] ^= 0xff;
    await expectCode(
      s.write([
        { snapshot: { metadata: { index: 9, term: 2, confState: VOTERS }, data }, mustSync: true },
      ]),
      "INVALID_WRITE",
    );
    expect([s.lastIndex(), s.appliedIndex(), s.snapshot().metadata.index]).toEqual([3, 2, 0]);
  });

  it("refuses to open a folder whose snapshot file was damaged", async () => {
    const s = await open();
    await s.write([{ entries: range(1, 3, 1), mustSync: true }, { appliedIndex: 3 }]);
    await s.createSnapshot();
    await s.close();
    storage = null;
    const [file] = await readdir(join(dir, SNAPSHOT_FOLDER));
    const { open: openFile } = await import("node:fs/promises");
    const handle = await openFile(join(dir, SNAPSHOT_FOLDER, file), "r+");
    await handle.write(Buffer.from([0x42]), 0, 1, 30);
    await handle.close();
    const error = await expectCode(open(), "CORRUPT");
    expect(error.message).toMatch(/checksum/);
  });

  it("fails typed on a disk error, keeps the durable state, and takes the same batch again once the disk works", async () => {
    let failNext = false;
    const s = await open({
      writeFault: () =>
        failNext
          ? Object.assign(new Error("ENOSPC: no space left"), { code: "ENOSPC" })
          : undefined,
    });
    await s.write([{ entries: range(1, 3, 1), mustSync: true }]);
    failNext = true;
    const batch = [
      { entries: range(4, 6, 1), hardState: { term: 1, vote: "n1", commit: 5 }, mustSync: true },
      { lockRecords: [["k", bytes("K")]] as const, appliedIndex: 5 },
    ];
    const error = await expectCode(s.write(batch), "WRITE_FAILED");
    expect(String((error.cause as Error).message)).toMatch(/ENOSPC/);
    expect(s.failed()).toBe(error);
    expect([s.lastIndex(), s.appliedIndex(), s.initialState().hardState.term]).toEqual([3, 0, 0]);
    // Still failing: the retry (after reopening LevelDB) fails the same way; no compaction meanwhile.
    await expectCode(s.write(batch), "WRITE_FAILED");
    await expectCode(s.createSnapshot(), "COMPACTION_FAILED");
    failNext = false;
    await s.write(batch);
    expect(s.failed()).toBeNull();
    expect([s.lastIndex(), s.appliedIndex()]).toEqual([6, 5]);
    const r = await reopen();
    expect([r.lastIndex(), r.appliedIndex(), r.initialState().hardState.commit]).toEqual([6, 5, 5]);
    expect(r.entries(1, 7, Infinity)).toEqual(range(1, 6, 1));
    expect(await r.readLockRecords()).toEqual([["k", bytes("K")]]);
    expect(r.failed()).toBeNull();
  });

  it("refuses writes after close", async () => {
    const s = await open();
    await s.close();
    await expectCode(s.write([{ entries: range(1, 1, 1) }]), "CLOSED");
    storage = null;
  });
});
