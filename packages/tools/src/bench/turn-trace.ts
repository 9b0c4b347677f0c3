// A preload for benchmarked servers (`node --import <this file>`): it finds the turns in which the
// event loop did not come back for longer than a threshold, and says where the time went. The
// server's own lag monitor only says how late a timer was; on a shared machine a late timer can
// mean the loop was busy, or that the process was runnable and got no CPU, or that it slept in a
// blocking call. The Linux scheduler counts each of those per thread (/proc/.../schedstat), so
// every long turn is split into on-CPU time, time waiting for a CPU and the rest (blocked), with
// the garbage collector's pauses inside it. A sampler thread also reads, every millisecond, where
// the main thread sleeps when it is not waiting in epoll (its kernel wait channel), so a blocked
// turn says what it was blocked on. Linux only; elsewhere the preload does nothing.
//
// Every second it also writes the GC pauses of that second by kind (GcSecond), long or not, so
// that two builds' GC can be compared phase by phase.
//
// Environment: DLOCK_TURN_TRACE_DIR (required: where `turns-<node id>-<pid>.jsonl`,
// `sleeps-<node id>-<pid>.jsonl` and `gc-<node id>-<pid>.jsonl` go), DLOCK_TURN_TRACE_MS
// (threshold, default 40). One JSON line per long turn (TurnRecord), per stretch outside epoll of
// half the threshold (SleepRecord) and per second with a GC pause (GcSecond).
import { appendFileSync, closeSync, mkdirSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import { Worker } from "node:worker_threads";
import { PerformanceObserver, constants, performance } from "node:perf_hooks";

/** One turn longer than the threshold, as a line of the trace file. */
export interface TurnRecord {
  node: string;
  /** Wall clock at the start of the turn (epoch ms). */
  atEpochMs: number;
  /** From the last tick of the probe timer to the next. */
  turnMs: number;
  /** The main thread on a CPU. */
  onCpuMs: number;
  /** The main thread runnable, waiting for a CPU. */
  waitingMs: number;
  /**
   * Neither: asleep in a blocking call (a sync read, a lock, a page fault to disk) or waiting
   * for the garbage collector's helper threads.
   */
  blockedMs: number;
  /** CPU time of all the process's threads in the turn (GC helpers, LevelDB, libuv's pool). */
  processCpuMs: number;
  /** V8's used heap at the end of the turn. */
  heapUsedMiB: number;
  /** Garbage-collector pauses that started in the turn, and their kinds. */
  gcMs: number;
  gcKinds: string[];
}

/** A stretch in which the sampler never saw the main thread waiting in epoll. */
export interface SleepRecord {
  node: string;
  fromEpochMs: number;
  toEpochMs: number;
  /** Samples by where the main thread was: `running` (on a CPU or runnable) or a wait channel. */
  samples: Record<string, number>;
}

/** The GC pauses of one second of a process, by kind. */
export interface GcSecond {
  node: string;
  atEpochMs: number;
  byKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

const TICK_MS = 1;
const GC_SECOND_MS = 1_000;
const GC_KEPT = 256;
const SCHEDSTAT_BYTES = 128;

function start(traceDir: string): void {
  const thresholdMs = Number(process.env.DLOCK_TURN_TRACE_MS ?? "40");
  const idAt = process.argv.indexOf("--id");
  const node = idAt >= 0 ? (process.argv[idAt + 1] ?? "?") : "?";
  mkdirSync(traceDir, { recursive: true });
  const file = join(traceDir, `turns-${node}-${process.pid}.jsonl`);
  // The main thread's id is the process id.
  const fd = openSync(`/proc/self/task/${process.pid}/schedstat`, "r");
  const buffer = Buffer.alloc(SCHEDSTAT_BYTES);
  const readSchedstat = (): [number, number] => {
    const n = readSync(fd, buffer, 0, SCHEDSTAT_BYTES, 0);
    const [onCpuNs, waitingNs] = buffer.toString("latin1", 0, n).split(" ");
    return [Number(onCpuNs) / 1e6, Number(waitingNs) / 1e6];
  };
  const gcs: Array<{ startMs: number; durationMs: number; kind: string }> = [];
  let second: GcSecond["byKind"] = {};
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKindName((entry as unknown as { detail?: { kind?: number } }).detail?.kind);
      gcs.push({ startMs: entry.startTime, durationMs: entry.duration, kind });
      const tally = (second[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      tally.count++;
      tally.totalMs += entry.duration;
      tally.maxMs = Math.max(tally.maxMs, entry.duration);
    }
    if (gcs.length > GC_KEPT) gcs.splice(0, gcs.length - GC_KEPT);
  });
  const gcFile = join(traceDir, `gc-${node}-${process.pid}.jsonl`);
  const gcTimer = setInterval(() => {
    if (Object.keys(second).length === 0) return;
    const record: GcSecond = { node, atEpochMs: Date.now(), byKind: second };
    second = {};
    try {
      appendFileSync(gcFile, `${JSON.stringify(record)}\n`);
    } catch {
      clearInterval(gcTimer);
    }
  }, GC_SECOND_MS);
  gcTimer.unref();
  observer.observe({ entryTypes: ["gc"] });
  const sampler = new Worker(SAMPLER, {
    eval: true,
    workerData: {
      tid: process.pid,
      file: join(traceDir, `sleeps-${node}-${process.pid}.jsonl`),
      node,
      minMs: thresholdMs / 2,
    },
  });
  sampler.unref();

  let lastMs = performance.now();
  let [lastOnCpuMs, lastWaitingMs] = readSchedstat();
  let lastProcessCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const nowMs = performance.now();
    const [onCpuMs, waitingMs] = readSchedstat();
    const processCpu = process.cpuUsage();
    const turnMs = nowMs - lastMs;
    if (turnMs > thresholdMs) {
      const inTurn = gcs.filter((g) => g.startMs >= lastMs && g.startMs < nowMs);
      const onCpu = onCpuMs - lastOnCpuMs;
      const waiting = waitingMs - lastWaitingMs;
      const record: TurnRecord = {
        node,
        atEpochMs: Math.round(performance.timeOrigin + lastMs),
        turnMs: round(turnMs),
        onCpuMs: round(onCpu),
        waitingMs: round(waiting),
        blockedMs: round(Math.max(0, turnMs - onCpu - waiting)),
        processCpuMs: round(
          (processCpu.user - lastProcessCpu.user + processCpu.system - lastProcessCpu.system) /
            1000,
        ),
        heapUsedMiB: Math.round(getHeapStatistics().used_heap_size / 1048576),
        gcMs: round(inTurn.reduce((sum, g) => sum + g.durationMs, 0)),
        gcKinds: inTurn.map((g) => `${g.kind} ${round(g.durationMs)}`),
      };
      try {
        appendFileSync(file, `${JSON.stringify(record)}\n`);
      } catch (error) {
        // A diagnostic must not take the server down: say so once and stop tracing.
        process.stderr.write(`turn trace: cannot write ${file} (${String(error)}); stopped\n`);
        clearInterval(timer);
      }
    }
    lastMs = nowMs;
    lastOnCpuMs = onCpuMs;
    lastWaitingMs = waitingMs;
    lastProcessCpu = processCpu;
  }, TICK_MS);
  timer.unref();
  process.once("exit", () => {
    clearInterval(timer);
    clearInterval(gcTimer);
    observer.disconnect();
    closeSync(fd);
  });
}

/**
 * The sampler thread: blocks 1 ms at a time (no event loop of its own), reads the main thread's
 * state and, unless it runs, its wait channel; writes each stretch outside epoll that lasted
 * `minMs` or more as a SleepRecord.
 */
const SAMPLER = `
const { appendFileSync, openSync, readSync } = require("node:fs");
const { workerData } = require("node:worker_threads");
const { tid, file, node, minMs } = workerData;
const statFd = openSync("/proc/self/task/" + tid + "/stat", "r");
const wchanFd = openSync("/proc/self/task/" + tid + "/wchan", "r");
const buffer = Buffer.alloc(1024);
const pause = new Int32Array(new SharedArrayBuffer(4));
const readAll = (fd) => buffer.toString("latin1", 0, readSync(fd, buffer, 0, buffer.length, 0));
let stretch = null;
for (;;) {
  Atomics.wait(pause, 0, 0, 1);
  const stat = readAll(statFd);
  const state = stat[stat.lastIndexOf(")") + 2];
  // A wait channel of "0" is a thread that woke between the two reads.
  const channel = state === "R" ? "0" : readAll(wchanFd).trim();
  const where = channel === "0" || channel === "" ? "running" : channel;
  const now = Date.now();
  if (state === "S" && where.includes("epoll")) {
    if (stretch !== null && now - stretch.fromEpochMs >= minMs) {
      try {
        appendFileSync(file, JSON.stringify({ node, fromEpochMs: stretch.fromEpochMs, toEpochMs: now, samples: stretch.samples }) + "\\n");
      } catch {
        break;
      }
    }
    stretch = null;
    continue;
  }
  if (stretch === null) stretch = { fromEpochMs: now, samples: {} };
  stretch.samples[where] = (stretch.samples[where] || 0) + 1;
}
`;

function gcKindName(kind: number | undefined): string {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return "major";
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return "minor";
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return "incremental";
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return "weak-callbacks";
    default:
      return "gc";
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// Last, so that everything above is initialized when it runs.
const dir = process.env.DLOCK_TURN_TRACE_DIR;
if (dir !== undefined && dir !== "" && process.platform === "linux") start(dir);
