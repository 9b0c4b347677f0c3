// A leader's snapshot staged in a file as it arrives, then installed from that file: the result
// is the in-memory install's, a damaged or failed staging installs nothing, and a crash at any
// point leaves the old state or the whole new one, never the staged file.
import { cp, readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SnapshotBytes } from "@dlock/raft";
import { LevelStorage } from "../../src/storage/level-storage.js";
import type { StorageOpenOptions, StorageWrite } from "../../src/storage/level-storage.js";
import { META_INSTALLING } from "../../src/storage/keys.js";
import { wholeSnapshot } from "../../src/storage/snapshot-file-bytes.js";
import { snapshotFileName } from "../../src/storage/snapshot-files.js";
import type { StagedSnapshotBytes } from "../../src/storage/snapshot-staging.js";
import { prng, range, rawDb, tempDir } from "./helpers.js";
import {
  MEMBERS,
  NEW_MEMBERS,
  NEW_METADATA as META,
  NEW_RECORDS as NEW,
  encodeSnapshot as encode,
  oldRecords,
} from "./install-fixtures.js";

const OLD = oldRecords(300);

/** `data` cut at random points into pieces of 1 byte up to ~`maxBytes`. */
function pieces(data: Uint8Array, random: () => number, maxBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length;) {
    const length = 1 + Math.floor(random() * maxBytes);
    out.push(data.subarray(at, at + length));
    at += length;
  }
  return out;
}

describe("LevelStorage: a leader's snapshot staged in a file", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const opened: LevelStorage[] = [];
  // Writes counted from arming (batches, clears, files, staged chunks); failAt's one fails.
  let armed = false;
  let writes = 0;
  let failAt = 0;
  // While set, every write fails as on a full disk; counts the refusals.
  let diskFull = false;
  let fullRefusals = 0;

  const open = async (
    dataDir = dir,
    extra: Pick<StorageOpenOptions, "stagingBacklogBytesMax" | "stagingWriteDelay"> = {},
  ): Promise<LevelStorage> => {
    const storage = await LevelStorage.open({
      ...extra,
      dataDir,
      clusterId: "c1",
      nodeId: "n1",
      initialMembers: MEMBERS,
      writeFault: () => {
        if (diskFull) {
          fullRefusals++;
          return new Error("ENOSPC: no space left on device (injected)");
        }
        if (!armed) return undefined;
        return ++writes === failAt ? new Error("EIO: injected") : undefined;
      },
    });
    opened.push(storage);
    return storage;
  };
  /** Closes every storage of `dataDir` (a crash, as far as the folder is concerned) and opens it. */
  const reopen = async (s: LevelStorage, dataDir = dir): Promise<LevelStorage> => {
    armed = false;
    await s.close();
    return open(dataDir);
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("staging"));
    armed = false;
    writes = 0;
    failAt = 0;
    diskFull = false;
    fullRefusals = 0;
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    await cleanup();
  });

  async function withOldState(dataDir = dir): Promise<LevelStorage> {
    const s = await open(dataDir);
    await s.write([
      { entries: range(1, 50, 1), hardState: { term: 1, vote: "n2", commit: 40 }, mustSync: true },
      { lockRecords: OLD, appliedIndex: 40 },
    ]);
    return s;
  }

  async function expectOld(s: LevelStorage): Promise<void> {
    expect([s.snapshot().metadata.index, s.appliedIndex(), s.lastIndex()]).toEqual([0, 40, 50]);
    expect(await s.readLockRecords()).toEqual(OLD);
    expect(s.appliedMembers()).toEqual(MEMBERS);
    expect(s.initialState().hardState).toEqual({ term: 1, vote: "n2", commit: 40 });
  }

  async function expectNew(s: LevelStorage): Promise<void> {
    expect(s.snapshot().metadata).toEqual(META);
    expect([s.appliedIndex(), s.firstIndex()]).toEqual([9000, 9001]);
    expect(await s.readLockRecords()).toEqual(NEW);
    expect(s.appliedMembers()).toEqual(NEW_MEMBERS);
    expect(await rawDb(s).get(META_INSTALLING)).toBeUndefined();
  }

  /** Stages `data` as the core would, in `chunks`, announcing `totalBytes`. */
  function stage(
    s: LevelStorage,
    chunks: Uint8Array[],
    totalBytes = chunks.reduce((n, c) => n + c.length, 0),
  ): SnapshotBytes {
    const staging = s.snapshotStaging(META, totalBytes);
    for (const chunk of chunks) staging.append(chunk);
    return staging.bytes();
  }

  const stagedFiles = async (dataDir = dir): Promise<string[]> =>
    (await readdir(join(dataDir, "snapshots"))).filter((name) => name.includes(".staging"));

  it("installs what an in-memory install does, however the chunks were cut", async () => {
    const seed = Number(process.env.STAGING_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[snapshot staging] seed ${seed} (replay with STAGING_SEED=${seed})`);
    const random = prng(seed);
    for (let round = 0; round < 3; round++) {
      // Small records, and a few that span chunks and the reader's 1 MiB windows.
      const records = Array.from(
        { length: 1 + Math.floor(random() * 1500) },
        (_, i): [string, Uint8Array] => {
          const big = random() < 0.003;
          const size = big ? 600_000 + Math.floor(random() * 600_000) : Math.floor(random() * 40);
          return [`k-${String(i).padStart(5, "0")}`, new Uint8Array(size).fill(i & 0xff)];
        },
      );
      const data = encode(records);
      const memoryDir = join(dir, `memory-${round}`);
      const stagedDir = join(dir, `staged-${round}`);
      const inMemory = await withOldState(memoryDir);
      await inMemory.write([{ snapshot: { metadata: META, data }, mustSync: true }]);
      const streamed = await withOldState(stagedDir);
      const staged = stage(streamed, pieces(data, random, 1000 + Math.floor(random() * 300_000)));
      await (staged as StagedSnapshotBytes).written();
      const [stagedName] = await stagedFiles(stagedDir);
      const stagedInode = (await stat(join(stagedDir, "snapshots", stagedName!))).ino;
      await streamed.write([{ snapshot: { metadata: META, data: staged }, mustSync: true }]);
      const label = `seed ${seed} round ${round}`;
      const [got, want] = [await streamed.readLockRecords(), await inMemory.readLockRecords()];
      expect(
        got.map(([key]) => key),
        label,
      ).toEqual(want.map(([key]) => key));
      // Compared as bytes: a deep equal of megabyte arrays takes seconds.
      const differing = got.filter(([, value], i) => Buffer.compare(value, want[i]![1]) !== 0);
      expect(differing.length, label).toBe(0);
      expect(streamed.appliedMembers(), label).toEqual(inMemory.appliedMembers());
      expect(streamed.snapshot().metadata, label).toEqual(inMemory.snapshot().metadata);
      expect(streamed.appliedIndex(), label).toBe(inMemory.appliedIndex());
      const file = wholeSnapshot(streamed.snapshot()).data;
      expect(Buffer.compare(file, wholeSnapshot(inMemory.snapshot()).data), label).toBe(0);
      // The staged file became the snapshot file (renamed, not copied) ...
      expect(await stagedFiles(stagedDir), label).toEqual([]);
      const snapshotPath = join(stagedDir, "snapshots", snapshotFileName(META.index, META.term));
      expect((await stat(snapshotPath)).ino, label).toBe(stagedInode);
      // ... and the staged bytes still read (the state machine may still be decoding them) until
      // the host releases them once it has them too, which leaves the snapshot file in place.
      expect(Buffer.compare(staged.subarray(0, staged.byteLength), data), label).toBe(0);
      streamed.releaseSnapshotBytes(staged);
      await (staged as StagedSnapshotBytes).remove();
      expect(await stagedFiles(stagedDir)).toEqual([]);
      expect(Buffer.compare(await readFile(snapshotPath), data), label).toBe(0);
    }
  });

  it("refuses forged, torn and oversized staged bytes with a typed error, the old state intact", async () => {
    const s = await withOldState();
    const data = encode(NEW);
    const forged = Buffer.from(data);
    forged[forged.length >> 1] ^= 0x40;
    const cases: Array<[string, SnapshotBytes, string]> = [
      ["forged", stage(s, pieces(forged, prng(1), 5000)), "INVALID_WRITE"],
      // Fewer bytes in the file than announced: it ends before the announced size.
      ["torn", stage(s, [data.subarray(0, data.length - 100)], data.length), "CORRUPT"],
      // More bytes announced (and staged) than the snapshot: there are bytes after its trailer.
      ["oversized", stage(s, [data, new Uint8Array(64)]), "INVALID_WRITE"],
    ];
    for (const [what, staged, code] of cases) {
      await expect(
        s.write([{ snapshot: { metadata: META, data: staged }, mustSync: true }]),
        what,
      ).rejects.toMatchObject({ code });
      await expectOld(s);
    }
    await expectOld(await reopen(s));
    expect(await stagedFiles()).toEqual([]);
  });

  it("writes a chunk again until the disk takes it; the install waits, then installs", async () => {
    const s = await withOldState();
    const events = { failing: 0, recovered: 0 };
    diskFull = true;
    const data = encode(NEW);
    const staging = s.snapshotStaging(META, data.length, {
      onFailing: () => events.failing++,
      onRecovered: () => events.recovered++,
    });
    for (const piece of pieces(data, prng(2), 4096)) staging.append(piece);
    const staged = staging.bytes() as StagedSnapshotBytes;
    let installed = false;
    const install = s
      .write([{ snapshot: { metadata: META, data: staged }, mustSync: true }])
      .then(() => (installed = true));
    await waitFor(async () => fullRefusals >= 3);
    expect(installed).toBe(false);
    expect([s.snapshot().metadata.index, s.appliedIndex()]).toEqual([0, 40]);
    diskFull = false;
    await install;
    expect(events).toEqual({ failing: 1, recovered: 1 });
    await expectNew(s);
    s.releaseSnapshotBytes(staged);
    await staged.remove();
    await expectNew(await reopen(s));
    expect(await stagedFiles()).toEqual([]);
  });

  it("stops writing again when its transfer is dropped: WRITE_FAILED, no file, the old state", async () => {
    const s = await withOldState();
    diskFull = true;
    const events = { failing: 0, recovered: 0 };
    const staging = s.snapshotStaging(META, 100, {
      onFailing: () => events.failing++,
      onRecovered: () => events.recovered++,
    });
    staging.append(new Uint8Array(100));
    const staged = staging.bytes() as StagedSnapshotBytes;
    await waitFor(async () => fullRefusals >= 2);
    expect(events).toEqual({ failing: 1, recovered: 0 });
    staging.discard();
    await expect(staged.written()).rejects.toMatchObject({ code: "WRITE_FAILED" });
    await waitFor(async () => (await stagedFiles()).length === 0);
    // The spell ends with the staging: the host must not count the node as failing for good.
    expect(events).toEqual({ failing: 1, recovered: 1 });
    diskFull = false;
    await expectOld(s);
    await expectOld(await reopen(s));
  });

  for (const when of ["half staged", "staged, not yet installed"] as const) {
    it(`a crash with a snapshot ${when} leaves the old state and no staged file`, async () => {
      const node = join(dir, "node");
      const s = await withOldState(node);
      const data = encode(NEW);
      const staging = s.snapshotStaging(META, data.length);
      const cut = when === "half staged" ? data.length >> 1 : data.length;
      for (const piece of pieces(data.subarray(0, cut), prng(3), 8192)) staging.append(piece);
      const staged = staging.bytes() as StagedSnapshotBytes;
      if (when === "half staged") await waitFor(async () => (await stagedFiles(node)).length === 1);
      else await staged.written();
      // The folder as a crash would leave it: copied while the storage holds it open.
      const crashed = join(dir, "crashed");
      await cp(node, crashed, { recursive: true });
      expect(await stagedFiles(crashed)).toHaveLength(1);
      const r = await open(crashed);
      await expectOld(r);
      expect(await stagedFiles(crashed)).toEqual([]);
      // The storage that staged it deletes it when it closes.
      await s.close();
      expect(await stagedFiles(node)).toEqual([]);
    });
  }

  // The numbers of the failing write: 1 the snapshot file (the staged file renamed to it), 2 the
  // marker, 3 the old table's deletion, 4-7 the batches of records, 8 the switching batch (staged
  // before arming). A crash at 2 leaves the renamed file, which nothing names: the start deletes it.
  for (const [at, after] of [
    [1, "old"],
    [2, "old"],
    [3, "new"],
    [6, "new"],
    [8, "new"],
  ] as const) {
    it(`a crash at write ${at} of a staged install leaves the ${after} state and no staged file`, async () => {
      const s = await withOldState();
      const staged = stage(s, pieces(encode(NEW), prng(at), 100_000)) as StagedSnapshotBytes;
      await staged.written();
      armed = true;
      failAt = at;
      const install: StorageWrite[] = [{ snapshot: { metadata: META, data: staged } }];
      await expect(s.write(install)).rejects.toMatchObject({ code: "WRITE_FAILED" });
      const r = await reopen(s);
      if (after === "old") await expectOld(r);
      else {
        expect(r.finishedInstall).toBe(9000);
        await expectNew(r);
      }
      expect(await stagedFiles()).toEqual([]);
      const snapshotFiles = after === "old" ? [] : [snapshotFileName(META.index, META.term)];
      expect(await readdir(join(dir, "snapshots"))).toEqual(snapshotFiles);
    });
  }

  it("an install that failed after its staged file was renamed installs it when retried", async () => {
    const s = await withOldState();
    const staged = stage(s, pieces(encode(NEW), prng(9), 100_000)) as StagedSnapshotBytes;
    await staged.written();
    armed = true;
    failAt = 2; // the marker: the staged file is the snapshot file by then
    const install: StorageWrite[] = [{ snapshot: { metadata: META, data: staged } }];
    await expect(s.write(install)).rejects.toMatchObject({ code: "WRITE_FAILED" });
    expect(await stagedFiles()).toEqual([]);
    // The host retries the same write: the bytes are read from the renamed file and copied.
    await s.write(install);
    await expectNew(s);
    s.releaseSnapshotBytes(staged);
    await staged.remove();
    await expectNew(await reopen(s));
  });

  it("is backlogged while more than its bound waits for the disk, and says when it drained", async () => {
    // Writes wait until the test lets each one go: a disk slower than the network.
    const gates: Array<() => void> = [];
    const s = await open(dir, {
      stagingWriteDelay: () => new Promise<void>((resolve) => gates.push(resolve)),
      stagingBacklogBytesMax: 100,
    });
    const data = encode(NEW);
    let drained = 0;
    const staging = s.snapshotStaging(META, data.length, { onDrained: () => drained++ });
    staging.append(data.subarray(0, 60));
    expect(staging.backlogged?.()).toBe(false);
    staging.append(data.subarray(60, 120));
    expect(staging.backlogged?.()).toBe(true);
    // The first write ends: 60 bytes wait, within the bound.
    await waitFor(async () => gates.length === 1);
    gates.shift()!();
    await waitFor(async () => drained === 1);
    expect(staging.backlogged?.()).toBe(false);
    // Over the bound again, but nobody was told so: no wake-up is owed when it drains.
    staging.append(data.subarray(120, 240));
    await waitFor(async () => gates.length === 1);
    gates.shift()!();
    await waitFor(async () => gates.length === 1);
    gates.shift()!();
    const staged = (staging.append(data.subarray(240)), staging.bytes()) as StagedSnapshotBytes;
    await waitFor(async () => gates.length === 1);
    gates.shift()!();
    await staged.written();
    expect(drained).toBe(1);
    expect(await readFile(staged.path)).toEqual(Buffer.from(data));
    await staged.remove();
  });

  it("stays backlogged while its writes fail, and drains once the disk takes them", async () => {
    const s = await open(dir, { stagingBacklogBytesMax: 100 });
    const data = encode(NEW);
    let drained = 0;
    diskFull = true;
    const staging = s.snapshotStaging(META, data.length, { onDrained: () => drained++ });
    for (let at = 0; at < data.length; at += 64) staging.append(data.subarray(at, at + 64));
    expect(staging.backlogged?.()).toBe(true);
    await waitFor(async () => fullRefusals >= 3);
    expect(staging.backlogged?.()).toBe(true);
    expect(drained).toBe(0);
    diskFull = false;
    const staged = staging.bytes() as StagedSnapshotBytes;
    await staged.written();
    expect(staging.backlogged?.()).toBe(false);
    expect(drained).toBe(1);
    expect(await readFile(staged.path)).toEqual(Buffer.from(data));
    await staged.remove();
  });

  it("a dropped transfer's staged file is deleted", async () => {
    const s = await withOldState();
    const staging = s.snapshotStaging(META, 100);
    staging.append(new Uint8Array(40));
    await waitFor(async () => (await stagedFiles()).length === 1);
    staging.discard();
    await waitFor(async () => (await stagedFiles()).length === 0);
    await expectOld(s);
  });
});

async function waitFor(condition: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
