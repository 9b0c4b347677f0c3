import { positiveInteger } from "@dlock/protocol";
import { NODE_SCHEDULER } from "../host/node-edges.js";
import type { HostScheduler, ScheduledHandle } from "../host/scheduler.js";
import type { StorageWrite } from "./host-storage.js";

/** Where batches go: LevelStorage.write, or a fake in tests. */
export interface BatchWriter {
  write(writes: readonly StorageWrite[]): Promise<void>;
}

export interface GroupCommitOptions {
  /** Upper bound of writes (Readies) combined into one batch; the rest wait for the next one. */
  writesPerBatchMax?: number;
  /**
   * Called when a batch is built; a write it returns goes last in the batch. The host uses it to
   * ride the state machine's dirty records and applied index along with the log (never a separate
   * fsync for the state machine).
   */
  collectExtra?: () => StorageWrite | undefined;
  /**
   * Whether a failed batch may be written again (a disk that is full or failing may recover). A
   * retryable failure keeps the batch, and every write behind it, and writes the same batch again
   * after retryDelayMsMin..Max (doubling) until it succeeds or abort() is called. Any other
   * failure is final. Default: none is retryable.
   */
  retryable?: (error: unknown) => boolean;
  /** Called once when a batch fails (and will be retried), and once when writing works again. */
  onFailing?: (error: unknown) => void;
  onRecovered?: () => void;
  retryDelayMsMin?: number;
  retryDelayMsMax?: number;
  /**
   * Where the retry delay waits (Node's timers by default, the host's scheduler under RaftHost),
   * and what a batch waits for before it starts (afterTurnFlushes: the turn's socket writes).
   */
  scheduler?: Pick<HostScheduler, "setTimer" | "clearTimer" | "afterTurnFlushes">;
  /**
   * Called as each batch is taken, before its first write attempt, and once the committer has
   * nothing more to write: the persist cycle's edges, where the host sends what it held for peers.
   */
  onBatchStart?: () => void;
  onIdle?: () => void;
}

export const DEFAULT_GROUP_COMMIT_OPTIONS = {
  writesPerBatchMax: 1024,
  retryDelayMsMin: 50,
  retryDelayMsMax: 2_000,
} as const;

export interface GroupCommitStats {
  /** Batches written. */
  batches: number;
  /** Writes submitted and written. */
  writes: number;
  /** Largest number of writes in one batch. */
  writesPerBatchPeak: number;
  /** Failed attempts to write a batch (each retry that fails counts). */
  failedAttempts: number;
}

interface Pending {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: one write in flight at a time; writes submitted meanwhile wait and go out
 * together as the next batch, so many proposals share one fsync. Promises settle in submission
 * order.
 *
 * A batch that fails retryably is written again, the very same writes, until it succeeds: nothing
 * behind it is written (or acknowledged) before it, and what is acknowledged was durable. Because
 * LevelDB batches are atomic and every write names absolute keys and values, writing a batch a
 * second time is harmless even if the failed attempt reached the disk after all. A final failure
 * (or abort) rejects the batch, everything queued and everything later.
 */
export class GroupCommitter {
  readonly stats: GroupCommitStats = {
    batches: 0,
    writes: 0,
    writesPerBatchPeak: 0,
    failedAttempts: 0,
  };
  private readonly writer: BatchWriter;
  private readonly options: GroupCommitOptions &
    Required<Pick<GroupCommitOptions, "writesPerBatchMax" | "retryDelayMsMin" | "retryDelayMsMax">>;
  private queue: Pending[] = [];
  /**
   * The queued writes, index for index with `queue`: the next batch's array as it is, so taking a
   * batch copies nothing (this runs for every batch, in the simulator too).
   */
  private queuedWrites: StorageWrite[] = [];
  /** Whether a queued write asks for an fsync. */
  private queuedSync = false;
  private inFlight: Promise<void> | null = null;
  /** True while the batch being written asks for an fsync. */
  private syncing = false;
  private failure: unknown = null;
  /** Set while the batch in flight is being retried after a retryable failure. */
  private failing = false;
  private aborted: unknown = null;
  private retryTimer: ScheduledHandle | null = null;
  private readonly scheduler: Pick<HostScheduler, "setTimer" | "clearTimer" | "afterTurnFlushes">;
  private wakeRetry: (() => void) | null = null;

  constructor(writer: BatchWriter, options: GroupCommitOptions = {}) {
    this.writer = writer;
    this.scheduler = options.scheduler ?? NODE_SCHEDULER;
    const defaults = DEFAULT_GROUP_COMMIT_OPTIONS;
    this.options = {
      ...options,
      writesPerBatchMax: options.writesPerBatchMax ?? defaults.writesPerBatchMax,
      retryDelayMsMin: options.retryDelayMsMin ?? defaults.retryDelayMsMin,
      retryDelayMsMax: options.retryDelayMsMax ?? defaults.retryDelayMsMax,
    };
    for (const key of ["writesPerBatchMax", "retryDelayMsMin", "retryDelayMsMax"] as const) {
      positiveInteger(this.options[key], undefined, key);
    }
  }

  /** Resolves when `write` is written (synced if it asks for it), in submission order. */
  submit(write: StorageWrite): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.queuedWrites.push(write);
      if (write.mustSync === true) this.queuedSync = true;
      if (this.inFlight === null) this.inFlight = this.drain();
    });
  }

  /** True while a batch is being written (or retried). */
  busy(): boolean {
    return this.inFlight !== null;
  }

  /** True while the batch being written (or retried) is synced: the slow kind of write. */
  busySyncing(): boolean {
    return this.inFlight !== null && this.syncing;
  }

  /** True while a batch failed and is being retried. */
  isFailing(): boolean {
    return this.failing;
  }

  /** Resolves when everything submitted so far is written (or rejected). */
  async idle(): Promise<void> {
    while (this.inFlight !== null) await this.inFlight;
  }

  /** Stops retrying: the batch being retried, the queue and every later write fail with `error`. */
  abort(error: unknown): void {
    if (this.failure !== null) return;
    this.aborted = error;
    this.failure = error;
    if (this.retryTimer !== null) this.scheduler.clearTimer(this.retryTimer);
    this.retryTimer = null;
    this.wakeRetry?.();
  }

  private async drain(): Promise<void> {
    // Let the current macrotask's submissions join the first batch too.
    await Promise.resolve();
    while (this.queue.length > 0 && this.failure === null) {
      // The turn's appends and answers go to the sockets first: a follower's round trip is the
      // longer half of a commit, and this write runs beside it on the thread pool.
      const flushed = this.scheduler.afterTurnFlushes?.() ?? null;
      if (flushed !== null) await flushed;
      const { taken, writes, syncing } = this.take();
      const extra = this.options.collectExtra?.();
      if (extra !== undefined) writes.push(extra);
      this.syncing = syncing || extra?.mustSync === true;
      this.options.onBatchStart?.();
      // The first attempt inline: the retry loop (and its promise) only after a failure.
      let error: unknown = this.aborted;
      if (error === null) {
        try {
          await this.writer.write(writes);
        } catch (failed) {
          error = await this.retryUntilDone(writes, failed);
        }
      }
      if (error !== null) {
        this.failure = error;
        for (const p of taken) p.reject(error);
        for (const p of this.queue) p.reject(error);
        this.queue = [];
        this.queuedWrites = [];
        this.queuedSync = false;
        break;
      }
      this.stats.batches++;
      this.stats.writes += taken.length;
      if (taken.length > this.stats.writesPerBatchPeak) {
        this.stats.writesPerBatchPeak = taken.length;
      }
      for (const p of taken) p.resolve();
    }
    this.inFlight = null;
    this.syncing = false;
    if (this.failure === null) this.options.onIdle?.();
  }

  /** The next batch, at most writesPerBatchMax writes (all of them, usually). */
  private take(): { taken: Pending[]; writes: StorageWrite[]; syncing: boolean } {
    const max = this.options.writesPerBatchMax;
    if (this.queue.length > max) {
      const writes = this.queuedWrites.splice(0, max);
      let syncing = false;
      for (const write of writes) if (write.mustSync === true) syncing = true;
      let queuedSync = false;
      for (const write of this.queuedWrites) if (write.mustSync === true) queuedSync = true;
      this.queuedSync = queuedSync;
      return { taken: this.queue.splice(0, max), writes, syncing };
    }
    const batch = { taken: this.queue, writes: this.queuedWrites, syncing: this.queuedSync };
    this.queue = [];
    this.queuedWrites = [];
    this.queuedSync = false;
    return batch;
  }

  /**
   * After the batch's first attempt failed with `error`: retries retryable failures until the
   * batch is written; returns the final error, or null.
   */
  private async retryUntilDone(writes: StorageWrite[], error: unknown): Promise<unknown> {
    let delayMs: number = this.options.retryDelayMsMin;
    for (;;) {
      this.stats.failedAttempts++;
      if (this.aborted !== null) return this.aborted;
      if (this.options.retryable?.(error) !== true) return error;
      if (!this.failing) {
        this.failing = true;
        this.options.onFailing?.(error);
      }
      await new Promise<void>((resolve) => {
        this.wakeRetry = resolve;
        this.retryTimer = this.scheduler.setTimer(resolve, delayMs);
      });
      this.wakeRetry = null;
      this.retryTimer = null;
      delayMs = Math.min(delayMs * 2, this.options.retryDelayMsMax);
      if (this.aborted !== null) return this.aborted;
      try {
        await this.writer.write(writes);
        this.failing = false;
        this.options.onRecovered?.();
        return null;
      } catch (failed) {
        error = failed;
      }
    }
  }
}
