import { describe, expect, it } from "vitest";
import { GroupCommitter } from "../../src/storage/group-commit.js";
import type { StorageWrite } from "../../src/storage/level-storage.js";

/** A writer whose batches finish only when the test says so. */
function manualWriter() {
  const batches: StorageWrite[][] = [];
  const finishers: Array<(error?: Error) => void> = [];
  return {
    batches,
    finish(error?: Error) {
      const next = finishers.shift();
      if (next === undefined) throw new Error("no batch in flight");
      next(error);
    },
    write(writes: readonly StorageWrite[]): Promise<void> {
      batches.push([...writes]);
      return new Promise<void>((resolve, reject) => {
        finishers.push((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("GroupCommitter", () => {
  it("tells whether the batch in flight is synced", async () => {
    const writer = manualWriter();
    const committer = new GroupCommitter(writer);
    const unsynced = committer.submit({ appliedIndex: 1 });
    await tick();
    expect(committer.busy()).toBe(true);
    expect(committer.busySyncing()).toBe(false);
    const synced = committer.submit({ appliedIndex: 2, mustSync: true });
    writer.finish();
    await unsynced;
    while (writer.batches.length < 2) await tick();
    expect(committer.busySyncing()).toBe(true);
    writer.finish();
    await synced;
    expect(committer.busySyncing()).toBe(false);
  });

  it("tells the persist cycle's edges: each batch as it starts (once, even if retried), then idle", async () => {
    const writer = manualWriter();
    const events: string[] = [];
    const committer = new GroupCommitter(
      {
        write: (writes) => {
          events.push(`write ${writes.length}`);
          return writer.write(writes);
        },
      },
      {
        onBatchStart: () => events.push("start"),
        onIdle: () => events.push("idle"),
        retryable: () => true,
        retryDelayMsMin: 1,
        retryDelayMsMax: 1,
      },
    );
    const first = committer.submit({ appliedIndex: 1 });
    await tick();
    const rest = [committer.submit({ appliedIndex: 2 }), committer.submit({ appliedIndex: 3 })];
    writer.finish(new Error("EIO"));
    while (writer.batches.length < 2) await tick();
    writer.finish();
    await first;
    while (writer.batches.length < 3) await tick();
    expect(events).toEqual(["start", "write 1", "write 1", "start", "write 2"]);
    writer.finish();
    await Promise.all(rest);
    expect(events).toEqual(["start", "write 1", "write 1", "start", "write 2", "idle"]);
  });

  it("combines the writes submitted while a batch is in flight into the next batch", async () => {
    const writer = manualWriter();
    const committer = new GroupCommitter(writer);
    const done: number[] = [];
    const submit = (n: number) =>
      committer.submit({ appliedIndex: n, mustSync: true }).then(() => done.push(n));
    const all = [submit(1)];
    await tick();
    expect(writer.batches.length).toBe(1);
    for (let n = 2; n <= 50; n++) all.push(submit(n));
    await tick();
    expect(writer.batches.length).toBe(1); // still waiting for the first write
    writer.finish();
    await tick();
    expect(writer.batches.length).toBe(2);
    expect(writer.batches[1].map((w) => w.appliedIndex)).toEqual(
      Array.from({ length: 49 }, (_, i) => i + 2),
    );
    writer.finish();
    await Promise.all(all);
    expect(done).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(committer.stats).toEqual({
      batches: 2,
      writes: 50,
      writesPerBatchPeak: 49,
      failedAttempts: 0,
    });
    expect(committer.busy()).toBe(false);
  });

  it("starts a batch only once the scheduler's turn flushes are written, with what came meanwhile", async () => {
    const writer = manualWriter();
    const gates: Array<() => void> = [];
    const committer = new GroupCommitter(writer, {
      scheduler: {
        setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
        clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
        afterTurnFlushes: () => new Promise<void>((resolve) => gates.push(resolve)),
      },
    });
    const first = committer.submit({ appliedIndex: 1, mustSync: true });
    await tick();
    expect(gates).toHaveLength(1);
    expect(writer.batches).toHaveLength(0); // the sockets first
    const second = committer.submit({ appliedIndex: 2, mustSync: true });
    gates.shift()!();
    await tick();
    expect(writer.batches.map((batch) => batch.map((w) => w.appliedIndex))).toEqual([[1, 2]]);
    writer.finish();
    await Promise.all([first, second]);
  });

  it("bounds a batch by writesPerBatchMax", async () => {
    const writer = manualWriter();
    const committer = new GroupCommitter(writer, { writesPerBatchMax: 3 });
    const all = Array.from({ length: 7 }, (_, i) => committer.submit({ appliedIndex: i }));
    await tick();
    expect(writer.batches[0].length).toBe(3);
    writer.finish();
    await tick();
    writer.finish();
    await tick();
    writer.finish();
    await Promise.all(all);
    expect(writer.batches.map((b) => b.length)).toEqual([3, 3, 1]);
  });

  it("appends the collected extra write last in each batch", async () => {
    const writer = manualWriter();
    let extras = 0;
    const committer = new GroupCommitter(writer, {
      collectExtra: () =>
        extras++ === 0 ? { lockRecords: [["k", null]], appliedIndex: 9 } : undefined,
    });
    const p = committer.submit({ entries: [] });
    await tick();
    writer.finish();
    await p;
    expect(writer.batches[0]).toEqual([
      { entries: [] },
      { lockRecords: [["k", null]], appliedIndex: 9 },
    ]);
  });

  it("rejects a batch that failed for good, everything queued, and everything later", async () => {
    const writer = manualWriter();
    const committer = new GroupCommitter(writer);
    const first = committer.submit({ appliedIndex: 1 });
    await tick();
    const queued = committer.submit({ appliedIndex: 2 });
    const disk = new Error("disk full");
    writer.finish(disk);
    await expect(first).rejects.toBe(disk);
    await expect(queued).rejects.toBe(disk);
    await expect(committer.submit({ appliedIndex: 3 })).rejects.toBe(disk);
    expect(writer.batches.length).toBe(1);
  });

  it("writes a retryably failed batch again, unchanged, before anything behind it", async () => {
    const writer = manualWriter();
    const events: string[] = [];
    let extras = 0;
    const committer = new GroupCommitter(writer, {
      retryable: (error) => (error as Error).message === "disk full",
      onFailing: () => events.push("failing"),
      onRecovered: () => events.push("recovered"),
      collectExtra: () => ({ appliedIndex: 100 + extras++ }),
      retryDelayMsMin: 1,
      retryDelayMsMax: 4,
    });
    const done: number[] = [];
    const first = committer.submit({ appliedIndex: 1 }).then(() => done.push(1));
    await tick();
    const second = committer.submit({ appliedIndex: 2 }).then(() => done.push(2));
    writer.finish(new Error("disk full"));
    await new Promise((r) => setTimeout(r, 10));
    expect(committer.isFailing()).toBe(true);
    expect(events).toEqual(["failing"]);
    writer.finish(new Error("disk full"));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toEqual([]);
    writer.finish();
    await first;
    expect(events).toEqual(["failing", "recovered"]);
    // The same writes (and the same extra, collected once) three times, then the next batch.
    expect(writer.batches.slice(0, 3).map((b) => b.map((w) => w.appliedIndex))).toEqual([
      [1, 100],
      [1, 100],
      [1, 100],
    ]);
    await tick();
    writer.finish();
    await second;
    expect(writer.batches[3].map((w) => w.appliedIndex)).toEqual([2, 101]);
    expect(done).toEqual([1, 2]);
    expect(committer.stats.failedAttempts).toBe(2);
  });

  it("abort() ends the retries: the batch, the queue and later writes fail with its error", async () => {
    const writer = manualWriter();
    const committer = new GroupCommitter(writer, {
      retryable: () => true,
      retryDelayMsMin: 60_000,
    });
    const first = committer.submit({ appliedIndex: 1 });
    await tick();
    const queued = committer.submit({ appliedIndex: 2 });
    writer.finish(new Error("disk full"));
    await tick();
    expect(committer.isFailing()).toBe(true);
    const stopped = new Error("stopped");
    committer.abort(stopped);
    await expect(first).rejects.toBe(stopped);
    await expect(queued).rejects.toBe(stopped);
    await expect(committer.submit({ appliedIndex: 3 })).rejects.toBe(stopped);
    await committer.idle();
    expect(writer.batches.length).toBe(1);
  });
});
