import { describe, expect, it } from "vitest";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { MemoryHostStorage } from "../../src/storage/memory-host-storage.js";
import { StorageError } from "../../src/storage/errors.js";
import { range, tempDir } from "./helpers.js";
import { wholeSnapshot } from "../../src/storage/snapshot-file-bytes.js";

const MEMBERS = { voters: ["n1", "n2", "n3"], learners: [], peerAddresses: {} };
const record = (byte: number) => new Uint8Array([byte]);

describe("MemoryHostStorage", () => {
  it("fails a write while its fault switch is on, keeping nothing of it, and writes again after", async () => {
    let fault: Error | undefined;
    const storage = MemoryHostStorage.open({ initialMembers: MEMBERS, writeFault: () => fault });
    await storage.write([{ entries: range(1, 2, 1), mustSync: true }]);
    fault = new Error("ENOSPC");
    const failed = await storage
      .write([{ entries: range(3, 4, 1), lockRecords: [["k", record(1)]], appliedIndex: 2 }])
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StorageError);
    expect((failed as StorageError).code).toBe("WRITE_FAILED");
    expect((failed as StorageError).cause).toBe(fault);
    expect(storage.lastIndex()).toBe(2);
    expect(storage.appliedIndex()).toBe(0);
    await expect(storage.readLockRecords()).resolves.toEqual([]);
    await expect(storage.createSnapshot()).rejects.toMatchObject({ code: "COMPACTION_FAILED" });
    fault = undefined;
    await storage.write([{ entries: range(3, 4, 1), lockRecords: [["k", record(1)]] }]);
    expect(storage.lastIndex()).toBe(4);
    expect(storage.stats.batches).toBe(2);
    await storage.close();
    await expect(
      storage.write([{ hardState: { term: 1, vote: null, commit: 0 } }]),
    ).rejects.toMatchObject({
      code: "CLOSED",
    });
  });

  it("refuses a whole batch when one of its writes breaks the contract", async () => {
    const storage = MemoryHostStorage.open({ initialMembers: MEMBERS });
    await storage.write([{ entries: range(1, 3, 1), appliedIndex: 2 }]);
    const refused = storage.write([
      { lockRecords: [["k", record(1)]], hardState: { term: 2, vote: "n2", commit: 2 } },
      { appliedIndex: 1 },
    ]);
    await expect(refused).rejects.toMatchObject({ code: "INVALID_WRITE" });
    expect(storage.initialState().hardState.term).toBe(0);
    await expect(storage.readLockRecords()).resolves.toEqual([]);
    await expect(storage.write([{ entries: range(5, 5, 1) }])).rejects.toMatchObject({
      code: "INVALID_WRITE",
    });
    expect(storage.lastIndex()).toBe(3);
  });

  it("makes snapshots in LevelStorage's format: each store installs the other's", async () => {
    const { dir, cleanup } = await tempDir("memory-snapshot");
    const level = await LevelStorage.open({
      dataDir: dir,
      clusterId: "c1",
      nodeId: "n2",
      initialMembers: MEMBERS,
      fsync: false,
    });
    const memory = MemoryHostStorage.open({ initialMembers: MEMBERS });
    // Keys whose UTF-8 byte order differs from JavaScript's string order.
    const records: Array<[string, Uint8Array]> = [
      ["b", record(2)],
      ["\u{1F512}", record(3)],
      ["\uFF5E", record(4)],
      ["a", record(1)],
    ];
    await memory.write([{ entries: range(1, 4, 2), lockRecords: records, appliedIndex: 4 }]);
    expect((await memory.createSnapshot())?.index).toBe(4);
    await level.write([{ snapshot: memory.snapshot(), mustSync: true }]);
    const stored = await level.readLockRecords();
    expect(stored.map(([key]) => key)).toEqual(["a", "b", "\uFF5E", "\u{1F512}"]);
    expect((await memory.readLockRecords()).map(([key]) => key)).toEqual(stored.map(([k]) => k));
    // And back: LevelStorage's snapshot of the same state is byte for byte the same.
    await level.write([{ entries: range(5, 6, 2), appliedIndex: 6 }]);
    await level.createSnapshot();
    await memory.write([{ entries: range(5, 6, 2), appliedIndex: 6 }]);
    await memory.createSnapshot();
    expect(Buffer.from(memory.snapshot().data).equals(wholeSnapshot(level.snapshot()).data)).toBe(
      true,
    );
    const other = MemoryHostStorage.open({ initialMembers: MEMBERS });
    await other.write([{ snapshot: wholeSnapshot(level.snapshot()) }]);
    expect(other.appliedIndex()).toBe(6);
    expect(other.appliedMembers()).toEqual(MEMBERS);
    expect((await other.readLockRecords()).map(([, value]) => value[0])).toEqual([1, 2, 4, 3]);
    await level.close();
    await cleanup();
  });
});
