#!/usr/bin/env node
// How long one log compaction blocks the event loop: a LevelStorage (fsync on) holding --entries
// log entries over a table of --locks records (about the size the lock table stores) compacts
// once, with a 1 ms timer measuring the longest gap. Not run in CI. After a build:
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
  snapshot(): { data: Uint8Array };
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
): Promise<{ compactMs: number; stallMs: number; snapshotMiB: number }> {
  const dir = await mkdtemp(join(tmpdir(), "dlock-stall-"));
  const storage = await LevelStorage.open({
    dataDir: dir,
    clusterId: "stall",
    nodeId: "n1",
    initialMembers: { voters: ["n1"], learners: [], peerAddresses: { n1: "127.0.0.1:1" } },
    fsync: true,
  });
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
    let last = performance.now();
    let stallMs = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last);
      last = now;
    }, 1);
    await new Promise((done) => setTimeout(done, 50));
    stallMs = 0;
    last = performance.now();
    const startedAt = performance.now();
    await storage.createSnapshot();
    const compactMs = performance.now() - startedAt;
    await new Promise((done) => setTimeout(done, 20));
    clearInterval(timer);
    return { compactMs, stallMs, snapshotMiB: storage.snapshot().data.length / 1024 / 1024 };
  } finally {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
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
        `round ${round} ${build.name}: longest event-loop stall ${r.stallMs.toFixed(0)} ms; ` +
          `compaction ${r.compactMs.toFixed(0)} ms; snapshot ${r.snapshotMiB.toFixed(1)} MiB`,
      );
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
