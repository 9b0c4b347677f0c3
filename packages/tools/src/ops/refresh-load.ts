// Endless lock traffic of the kind a lock service sees all day: a set of held locks refreshed
// over and over by many concurrent callers. Used by the compaction test and the soak script to
// grow the Raft log far past its compaction thresholds.
import { Locker } from "@dlock/client";
import type { Lock } from "@dlock/client";

export interface RefreshLoadOptions {
  endpoints: string[];
  clusterId: string;
  /** Locks held and refreshed round-robin. */
  locks: number;
  /** Refreshes in flight at once (≤ locks: one per lock at a time). */
  concurrency: number;
  /** Lease of each lock; refreshes keep it alive, so it only matters if traffic stops. */
  ttlMs: number;
  /** Stop after this many lock operations (acquires, refreshes and releases). */
  operations: number;
  /** Called about every `progressEvery` operations. */
  onProgress?: (operations: number) => void;
  progressEvery?: number;
  /** Key prefix (several loads can share a cluster). */
  keyPrefix?: string;
}

export interface RefreshLoadResult {
  operations: number;
  /** Refreshes or releases that failed (a lost lock is one). */
  failures: number;
  /** Locks the client stopped vouching for before the release. */
  lost: number;
  durationMs: number;
}

export async function runRefreshLoad(options: RefreshLoadOptions): Promise<RefreshLoadResult> {
  if (options.concurrency > options.locks) {
    throw new RangeError("concurrency must be ≤ locks (one refresh per lock at a time)");
  }
  const started = performance.now();
  const prefix = options.keyPrefix ?? "load";
  const progressEvery = options.progressEvery ?? 10_000;
  const locker = new Locker({ endpoints: options.endpoints, clusterId: options.clusterId });
  let operations = 0;
  let failures = 0;
  let nextProgress = progressEvery;
  const count = (): void => {
    operations++;
    if (operations >= nextProgress) {
      nextProgress += progressEvery;
      options.onProgress?.(operations);
    }
  };
  try {
    const locks: Lock[] = [];
    for (let i = 0; i < options.locks; i += 64) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(64, options.locks - i) }, (_, j) =>
          locker.lock(`${prefix}/${i + j}`, `holder-${i + j}`, {
            ttl: options.ttlMs,
            refreshInterval: 0,
          }),
        ),
      );
      for (const lock of batch) {
        locks.push(lock);
        count();
      }
    }
    const refreshes = options.operations - 2 * options.locks;
    let issued = 0;
    const worker = async (first: number): Promise<void> => {
      // Worker w refreshes locks w, w + concurrency, ...: never two refreshes of one lock at once.
      let at = first;
      while (issued < refreshes) {
        issued++;
        try {
          // at < locks.length: first < concurrency ≤ locks, and at wraps below.
          await locks[at]!.refresh();
        } catch {
          failures++;
        }
        count();
        at += options.concurrency;
        if (at >= locks.length) at = first;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
    let lost = 0;
    await Promise.all(
      locks.map(async (lock) => {
        try {
          const outcome = await lock.release();
          if (outcome.lost) lost++;
        } catch {
          failures++;
        }
        count();
      }),
    );
    return { operations, failures, lost, durationMs: performance.now() - started };
  } finally {
    await locker.close();
  }
}
