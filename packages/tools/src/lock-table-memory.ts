#!/usr/bin/env node
// Where a node's memory goes for N held locks, the in-process part: the lock table and the leader's
// lease timers. Each step fills what it
// measures through the production code (commands decoded from msgpack as entries are), then
// forces a GC and reports the growth of the heap plus array buffers. Not run in CI. After a build:
//
//   node --expose-gc packages/tools/dist/lock-table-memory.js [--locks 200000]
//
// Keys are named as the bench's scale scenario names them, values as 64 clients would.
import { parseArgs } from "node:util";
import { LeaseManager, LockStateMachine, encodeCommand } from "@dlock/server/lock";
import { positiveInteger, say } from "./measure-script.js";

const USAGE = "usage: node --expose-gc packages/tools/dist/lock-table-memory.js [--locks N]\n";
const TASKS_PER_TENANT = 1000;
const CLIENTS = 64;
const TTL_MS = 3_600_000;

const { values } = parseArgs({
  options: { locks: { type: "string", default: process.env.DLOCK_MEMORY_LOCKS ?? "200000" } },
});
const locks = positiveInteger("locks", values.locks, USAGE);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error(`run with --expose-gc\n${USAGE}`);
const collect: () => void = gc;

function heapMiB(): number {
  collect();
  collect();
  const usage = process.memoryUsage();
  return (usage.heapUsed + usage.arrayBuffers) / 1024 / 1024;
}

function line(what: string, before: number, after: number): void {
  const bytes = ((after - before) * 1024 * 1024) / locks;
  say(
    `${what.padEnd(34)} ${(after - before).toFixed(1).padStart(8)} MiB ${bytes.toFixed(0).padStart(6)} B/lock`,
  );
}

const start = heapMiB();
const table = new LockStateMachine({ limits: { electionTimeoutMs: 500, locksMax: locks } });
for (let i = 0; i < locks; i++) {
  const key = `jobs/tenant-${Math.floor(i / TASKS_PER_TENANT)}/task-${i % TASKS_PER_TENANT}`;
  const value = `bench-client-${(i % CLIENTS).toString().padStart(4, "0")}-0123456789abcdef`;
  const data = encodeCommand({
    type: "acquire",
    key,
    value,
    ttlMs: TTL_MS,
    waitMs: 0,
    lockDelayMs: 0,
    requestId: i,
  });
  table.applyEntry(i + 1, data);
}
const dirty = table.takeDirtyKeys();
dirty.length = 0;
const filled = heapMiB();
const leases = new LeaseManager();
leases.becomeLeader(0, table);
const timed = heapMiB();
const rss = process.memoryUsage();

say(`${locks} held locks (lease timers: ${leases.trackedCount.locks})`);
line("lock table (state machine)", start, filled);
line("lease timers (leader only)", filled, timed);
say(
  `process: rss ${(rss.rss / 1048576).toFixed(0)} MiB, heap used ${(rss.heapUsed / 1048576).toFixed(0)} MiB, external ${(rss.external / 1048576).toFixed(0)} MiB, array buffers ${(rss.arrayBuffers / 1048576).toFixed(0)} MiB`,
);
