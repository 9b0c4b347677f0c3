#!/usr/bin/env node
// How long one log compaction, and the install of the snapshot it wrote on another node, block
// the event loop: a LevelStorage (fsync on) holding --entries log entries over a table of --locks
// records (about the size the lock table stores) compacts once, then a fresh LevelStorage installs
// that snapshot as a follower's would (the storage part; the host then decodes the table), with a
// 1 ms timer measuring the longest gap in each. Not run in CI. After a build:
//
//   node packages/tools/dist/compaction-stall.js [--locks 100000] [--entries 100000] [--rounds 3]
//        [--server-dist packages/server/node_modules/.dist-before]...
//
// Each --server-dist is another build of @dlock/server (its dist folder, kept inside
// packages/server so its imports resolve) measured in the same run, round by round, to compare a
// change with what it replaces; without one, the workspace's build is measured.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { positiveInteger, say } from "./measure-script.js";

const USAGE = `usage: node packages/tools/dist/compaction-stall.js [--locks N] [--entries N] [--rounds N]
       [--server-dist FOLDER]...
`;

const { values } = parseArgs({
  options: {
    locks: { type: "string", default: process.env.DLOCK_STALL_LOCKS ?? "100000" },
    entries: { type: "string", default: process.env.DLOCK_STALL_ENTRIES ?? "100000" },
    rounds: { type: "string", default: process.env.DLOCK_STALL_ROUNDS ?? "3" },
    "server-dist": { type: "string", multiple: true },
  },
});

interface StorageLike {
  write(writes: unknown[]): Promise<void>;
  createSnapshot(): Promise<{ index: number } | null>;
  snapshot(): {
    metadata: unknown;
    data: { byteLength: number; subarray(begin: number, end: number): Uint8Array };
  };
  close(): Promise<void>;
}

interface LevelStorageClass {
  open(options: Record<string, unknown>): Promise<StorageLike>;
}

const STEP = 5_000;

async function measure(
  LevelStorage: LevelStorageClass,
  locks: number,
  entries: number,
): Promise<{
  compactMs: number;
  stallMs: number;
  snapshotMiB: number;
  installMs: number;
  installStallMs: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), "dlock-stall-"));
  const open = (dataDir: string) =>
    LevelStorage.open({
      dataDir,
      clusterId: "stall",
      nodeId: "n1",
      initialMembers: { voters: ["n1"], learners: [], peerAddresses: { n1: "127.0.0.1:1" } },
      fsync: true,
    });
  const storage = await open(join(dir, "leader"));
  let follower: StorageLike | null = null;
  try {
    const payload = new Uint8Array(70).fill(7);
    const record = new Uint8Array(60).fill(9);
    const total = Math.max(locks, entries);
    for (let from = 0; from < total; from += STEP) {
      const lockRecords: Array<[string, Uint8Array]> = [];
      const batch: Array<{ index: number; term: number; kind: "normal"; data: Uint8Array }> = [];
      for (let i = from; i < Math.min(total, from + STEP); i++) {
        if (i < locks)
          lockRecords.push([`jobs/tenant-${Math.floor(i / 1000)}/task-${i % 1000}`, record]);
        if (i < entries) batch.push({ index: i + 1, term: 1, kind: "normal", data: payload });
      }
      await storage.write([
        {
          entries: batch,
          lockRecords,
          appliedIndex: Math.min(entries, from + STEP),
          mustSync: true,
        },
      ]);
    }
    const compaction = await timed(() => storage.createSnapshot());
    follower = await open(join(dir, "follower"));
    const target = follower;
    // A leader reads its snapshot a chunk at a time; a follower installs the whole.
    const { metadata, data } = storage.snapshot();
    const snapshot = { metadata, data: data.subarray(0, data.byteLength) };
    const install = await timed(() => target.write([{ snapshot, mustSync: true }]));
    return {
      compactMs: compaction.ms,
      stallMs: compaction.stallMs,
      snapshotMiB: storage.snapshot().data.byteLength / 1024 / 1024,
      installMs: install.ms,
      installStallMs: install.stallMs,
    };
  } finally {
    await storage.close();
    await follower?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `work` with a 1 ms timer watching the event loop: its duration and the longest gap. */
async function timed(work: () => Promise<unknown>): Promise<{ ms: number; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  try {
    await new Promise((done) => setTimeout(done, 50));
    stallMs = 0;
    last = performance.now();
    const startedAt = performance.now();
    await work();
    const ms = performance.now() - startedAt;
    await new Promise((done) => setTimeout(done, 20));
    return { ms, stallMs };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const locks = positiveInteger("locks", values.locks, USAGE);
  const entries = positiveInteger("entries", values.entries, USAGE);
  const rounds = positiveInteger("rounds", values.rounds, USAGE);
  const builds: Array<{ name: string; LevelStorage: LevelStorageClass }> = [];
  for (const dist of values["server-dist"] ?? []) {
    const url = pathToFileURL(join(resolve(dist), "storage", "level-storage.js")).href;
    builds.push({
      name: dist,
      LevelStorage: ((await import(url)) as { LevelStorage: LevelStorageClass }).LevelStorage,
    });
  }
  if (builds.length === 0) {
    const { LevelStorage } = (await import("@dlock/server/internal")) as unknown as {
      LevelStorage: LevelStorageClass;
    };
    builds.push({ name: "workspace build", LevelStorage });
  }
  say(`compaction of ${entries} entries over ${locks} lock records, fsync on, ${rounds} round(s)`);
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order so drifting load on a shared machine skews every build alike.
    const order = round % 2 === 1 ? builds : [...builds].reverse();
    for (const build of order) {
      const r = await measure(build.LevelStorage, locks, entries);
      say(
        `round ${round} ${build.name}: compaction: longest event-loop stall ${r.stallMs.toFixed(0)} ms, ` +
          `took ${r.compactMs.toFixed(0)} ms, snapshot ${r.snapshotMiB.toFixed(1)} MiB; ` +
          `install: longest stall ${r.installStallMs.toFixed(0)} ms, took ${r.installMs.toFixed(0)} ms`,
      );
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
