// Latency percentiles and the CPU time of processes, for `pnpm bench`.
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** A rate as a whole number with thousands separators (12,345), as the bench prints rates. */
export function perSecondText(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US");
}

/** Nearest-rank percentiles of `samples` (milliseconds), or null when there are none. */
export function summarize(samples: number[]): LatencySummary | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  // The rank is clamped into 0..length - 1, and length > 0.
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
  let sum = 0;
  for (const sample of sorted) sum += sample;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: at(1),
    mean: sum / sorted.length,
  };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we run on). */
const USER_HZ = 100;

/** CPU time (user + system, milliseconds) used so far by process `pid`, or null off Linux. */
export function processCpuMs(pid: number): number | null {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
  return statCpuMs(`/proc/${pid}/stat`);
}

/**
 * CPU time (milliseconds) used so far by the main thread of process `pid` alone, or null off
 * Linux. In a Node server that is the event loop (JavaScript, the sockets' system calls); the
 * rest of processCpuMs() is its other threads: libuv's pool (LevelDB's writes and fsyncs), V8's
 * GC and compiler threads, LevelDB's compaction.
 */
export function mainThreadCpuMs(pid: number): number | null {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

/** utime + stime of a /proc stat file, in milliseconds; null if it cannot be read. */
function statCpuMs(path: string): number | null {
  try {
    const stat = readFileSync(path, "utf8");
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / USER_HZ;
  } catch {
    return null;
  }
}

/**
 * Median duration of a small synced write (write + fdatasync) in `dir`, in milliseconds: the
 * floor under every commit, and the figure to read the others against (≈0.2–0.5 ms on the machines we measure on).
 */
export function probeSyncedWriteMs(dir: string, samples = 50): number {
  const file = join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(512, 1);
  const durations: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const startedAt = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      durations.push(performance.now() - startedAt);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return summarize(durations)!.p50;
}
