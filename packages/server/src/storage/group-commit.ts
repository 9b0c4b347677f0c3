import type { StorageWrite } from "./level-storage.js";

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
}

export const DEFAULT_GROUP_COMMIT_OPTIONS = { writesPerBatchMax: 1024 } as const;

export interface GroupCommitStats {
  /** Batches written. */
  batches: number;
  /** Writes submitted and written. */
  writes: number;
  /** Largest number of writes in one batch. */
  writesPerBatchPeak: number;
}

interface Pending {
  write: StorageWrite;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: one write in flight at a time; writes submitted meanwhile wait and go out
 * together as the next batch, so many proposals share one fsync. Promises settle in submission
 * order. After a failed batch every queued and later write is rejected with the same error: the
 * storage is failed and nothing may be acknowledged past it.
 */
export class GroupCommitter {
  readonly stats: GroupCommitStats = { batches: 0, writes: 0, writesPerBatchPeak: 0 };
  private readonly writer: BatchWriter;
  private readonly writesPerBatchMax: number;
  private readonly collectExtra: (() => StorageWrite | undefined) | undefined;
  private queue: Pending[] = [];
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(writer: BatchWriter, options: GroupCommitOptions = {}) {
    this.writer = writer;
    this.writesPerBatchMax =
      options.writesPerBatchMax ?? DEFAULT_GROUP_COMMIT_OPTIONS.writesPerBatchMax;
    if (!Number.isSafeInteger(this.writesPerBatchMax) || this.writesPerBatchMax < 1) {
      throw new RangeError("writesPerBatchMax must be a positive integer");
    }
    this.collectExtra = options.collectExtra;
  }

  /** Resolves when `write` is written (synced if it asks for it), in submission order. */
  submit(write: StorageWrite): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.inFlight === null) this.inFlight = this.drain();
    });
  }

  /** True while a batch is being written. */
  busy(): boolean {
    return this.inFlight !== null;
  }

  /** Resolves when everything submitted so far is written (or rejected). */
  async idle(): Promise<void> {
    while (this.inFlight !== null) await this.inFlight;
  }

  private async drain(): Promise<void> {
    // Let the current macrotask's submissions join the first batch too.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const taken = this.queue.splice(0, this.writesPerBatchMax);
      const writes = taken.map((p) => p.write);
      const extra = this.collectExtra?.();
      if (extra !== undefined) writes.push(extra);
      try {
        await this.writer.write(writes);
      } catch (error) {
        this.failure = error;
        const rejected = [...taken, ...this.queue];
        this.queue = [];
        for (const p of rejected) p.reject(error);
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
  }
}
