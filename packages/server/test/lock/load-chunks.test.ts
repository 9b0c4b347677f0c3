import { describe, expect, it } from "vitest";
import { LockStateMachine } from "@dlock/server/lock";
import { EMPTY_MEMBERS } from "../../src/storage/members-record.js";
import { encodeStateSnapshot, snapshotLockValueChunks } from "../../src/storage/snapshot-state.js";
import { Log, TEST_LIMITS } from "./helpers.js";

async function* inPieces(records: Uint8Array[], size: number): AsyncGenerator<Uint8Array[]> {
  for (let at = 0; at < records.length; at += size) {
    await Promise.resolve();
    yield records.slice(at, at + size);
  }
}

/** A table with a lock delay, a queue, plain holders and a freed key. */
function sampleLog(): Log {
  const log = new Log();
  log.acquire("a", "x", { lockDelayMs: 100 });
  log.acquire("a", "y", { waitMs: 900 });
  log.acquire("a", "z", { waitMs: 900 });
  log.acquire("b", "x");
  log.acquire("c", "w");
  log.release("c", "w", 5);
  log.acquire("d", "y");
  log.expire("a", 1, 1);
  return log;
}

function recordsOf(machine: LockStateMachine): Uint8Array[] {
  return [...machine.keys()].map((key) => machine.encodeLockRecord(key) as Uint8Array);
}

describe("loadRecordChunks", () => {
  it("builds the same table as loadRecords, whatever the piece size", async () => {
    const log = sampleLog();
    const records = recordsOf(log.machine);
    expect(records).toHaveLength(3);
    for (const size of [1, 2, 5]) {
      const copy = new LockStateMachine({ limits: TEST_LIMITS });
      await copy.loadRecordChunks(log.machine.appliedIndex, inPieces(records, size));
      expect(copy.appliedIndex).toBe(log.machine.appliedIndex);
      expect(Buffer.from(copy.snapshot())).toEqual(Buffer.from(log.machine.snapshot()));
      expect(copy.waiters("a")).toEqual(log.machine.waiters("a"));
      expect(copy.takeDirtyKeys()).toEqual([]);
    }
  });

  it("leaves the table empty on a bad record, a duplicate or a record newer than the index", async () => {
    const log = sampleLog();
    const records = recordsOf(log.machine);
    const cases: Array<[Uint8Array[], number]> = [
      [[...records, new Uint8Array([1, 2, 3])], log.machine.appliedIndex],
      [[...records, records[0]!], log.machine.appliedIndex],
      [records, 3],
    ];
    for (const [input, appliedIndex] of cases) {
      const copy = new LockStateMachine({ limits: TEST_LIMITS });
      await expect(copy.loadRecordChunks(appliedIndex, inPieces(input, 2))).rejects.toMatchObject({
        code: "MALFORMED",
      });
      expect(copy.size).toBe(0);
      expect(copy.appliedIndex).toBe(0);
    }
  });

  it("refuses a table that is not empty", async () => {
    const log = sampleLog();
    await expect(
      log.machine.loadRecordChunks(log.machine.appliedIndex, inPieces([], 1)),
    ).rejects.toMatchObject({ name: expect.stringMatching(/Invariant/) });
  });

  it("loads semaphore records beside lock records, and refuses a key stored as both", async () => {
    const log = sampleLog();
    const permits = (key: string, value: string, waitMs = 0) =>
      log.machine.apply(++log.index, {
        type: "semaphoreAcquire",
        key,
        value,
        ttlMs: 1000,
        waitMs,
        requestId: log.index,
        permits: 2,
        count: 1,
      });
    permits("s", "p");
    permits("s", "q");
    permits("s", "r", 900);
    const records = recordsOf(log.machine);
    expect(records).toHaveLength(4);
    for (const size of [1, 3]) {
      const copy = new LockStateMachine({ limits: TEST_LIMITS });
      await copy.loadRecordChunks(log.machine.appliedIndex, inPieces(records, size));
      expect(copy.stateHash()).toBe(log.machine.stateHash());
      expect(copy.semaphoreState("s")?.held).toBe(2);
    }
    const lockA = log.machine.encodeLockRecord("a")!;
    const semaphoreS = log.machine.encodeLockRecord("s")!;
    const other = new Log();
    other.machine.apply(1, {
      type: "semaphoreAcquire",
      key: "a",
      value: "p",
      ttlMs: 1000,
      waitMs: 0,
      requestId: 1,
      permits: 2,
      count: 1,
    });
    const semaphoreA = other.machine.encodeLockRecord("a")!;
    const copy = new LockStateMachine({ limits: TEST_LIMITS });
    await expect(
      copy.loadRecordChunks(log.machine.appliedIndex, inPieces([lockA, semaphoreS, semaphoreA], 1)),
    ).rejects.toMatchObject({ code: "MALFORMED" });
    expect(copy.size).toBe(0);
  });
});

describe("prepareRecordChunks from a snapshot, a slice per turn", () => {
  it("builds the table that restoring the whole snapshot at once builds, for any slice size", async () => {
    const limits = { ...TEST_LIMITS, locksMax: 10_000, keyBytesMax: 64, valueBytesMax: 64 };
    const log = new Log(limits);
    for (let i = 0; i < 3_000; i++) {
      // Holders shared by many keys and holders of their own; one key not ASCII.
      const key = i === 7 ? "ключ-7" : `jobs/tenant-${i % 13}/task-${i}`;
      log.acquire(key, i % 3 === 0 ? `holder-${i}` : `client-${i % 5}`, { lockDelayMs: i % 2 });
    }
    log.acquire("jobs/tenant-1/task-1", "waiting", { waitMs: 900 });
    log.expire("jobs/tenant-1/task-1", 2, 2);
    log.acquire("jobs/tenant-3/task-3", "queued", { waitMs: 900 });
    const original = log.machine;
    const records = [...original.keys()].map(
      (key) => [key, original.encodeLockRecord(key) as Uint8Array] as const,
    );
    const data = encodeStateSnapshot(original.appliedIndex, 1, records, EMPTY_MEMBERS);
    const atOnce = new LockStateMachine({ limits });
    atOnce.restoreSnapshot(original.snapshot());
    expect(atOnce.stateHash()).toBe(original.stateHash());
    for (const sliceRecords of [1, 7, 1024]) {
      const sliced = new LockStateMachine({ limits });
      let slices = 0;
      async function* counted(): AsyncGenerator<Uint8Array[]> {
        for await (const slice of snapshotLockValueChunks(data, sliceRecords)) {
          expect(slice.length).toBeLessThanOrEqual(sliceRecords);
          slices++;
          yield slice;
        }
      }
      const prepared = await sliced.prepareRecordChunks(original.appliedIndex, counted());
      expect(prepared.records).toBe(records.length);
      prepared.install();
      expect(slices).toBe(Math.ceil(records.length / sliceRecords));
      expect(sliced.stateHash()).toBe(atOnce.stateHash());
      expect(sliced.waiters("jobs/tenant-3/task-3")).toEqual(
        atOnce.waiters("jobs/tenant-3/task-3"),
      );
      expect(sliced.get("ключ-7")).toEqual(atOnce.get("ключ-7"));
      expect(sliced.takeDirtyKeys()).toEqual([]);
    }
    // Sized up front from a record count (exact, too low, too high), the same table.
    for (const recordsExpected of [records.length, 10, records.length * 50]) {
      const sized = new LockStateMachine({ limits });
      const prepared = await sized.prepareRecordChunks(
        original.appliedIndex,
        snapshotLockValueChunks(data, 512),
        recordsExpected,
      );
      prepared.install();
      expect(sized.stateHash()).toBe(atOnce.stateHash());
      expect(sized.get("ключ-7")).toEqual(atOnce.get("ключ-7"));
      expect(sized.waiters("jobs/tenant-3/task-3")).toEqual(atOnce.waiters("jobs/tenant-3/task-3"));
    }
  });
});
