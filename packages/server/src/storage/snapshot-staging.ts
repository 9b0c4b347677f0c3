// A leader's snapshot staged in a file as its chunks arrive. The Raft core hands each accepted
// chunk to append() and keeps only offsets; the writes are queued here, at the I/O edge, so the
// core never waits on the disk. Assembling the snapshot in memory instead held an 86 MiB buffer
// (at a million locks) through the whole install: a wiped follower's RSS ended ~80 MiB above a
// restarted one's. The staged file is never installed unchecked: the storage checks it (size,
// checksum, structure), then syncs it and renames it to the snapshot file's name (a copy read and
// wrote the 86 MiB once more); a staged file a crash leaves is deleted at the next start.
import { open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import type { SnapshotBytes, SnapshotStaging } from "@dlock/raft";
import { SnapshotFileBytes } from "./snapshot-file-bytes.js";
import { writeAllAt } from "./snapshot-files.js";
import { StorageError } from "./errors.js";

/** What staged bytes need of their staging: the open file, and its removal. */
interface StagedFile {
  /** The file's handle, open for reading and writing until the staging is removed. */
  handle(): FileHandle | null;
  remove(): Promise<void>;
}

/**
 * The bytes of a staged snapshot: readable once written() resolves, garbage after remove(). They
 * are read through the staging's own descriptor, which still reads them after the file is moved.
 */
export class StagedSnapshotBytes extends SnapshotFileBytes {
  private readonly done: Promise<void>;
  private readonly file: StagedFile;
  private moved = false;

  constructor(path: string, byteLength: number, done: Promise<void>, file: StagedFile) {
    super(path, byteLength);
    this.done = done;
    this.file = file;
  }

  /** Resolves once every byte is in the file; rejects with the write's StorageError. */
  written(): Promise<void> {
    return this.done;
  }

  /**
   * Makes the staged file (written and checked) the file at `path`: synced first when `fsync`, then
   * renamed; the caller syncs the folder. Once only: false when it was moved before (an install
   * that failed after it and is retried), and the caller copies these bytes instead.
   */
  async moveTo(path: string, fsync: boolean): Promise<boolean> {
    if (this.moved) return false;
    const handle = this.openHandle();
    if (fsync) await handle.sync();
    await rename(this.path, path);
    this.moved = true;
    return true;
  }

  /** Deletes the file unless it was moved (after the install, or when not needed); never fails. */
  remove(): Promise<void> {
    return this.file.remove();
  }

  protected override openForRead(): number {
    return this.openHandle().fd;
  }

  /** The staging's descriptor stays open: it is closed when the staging is removed. */
  protected override doneReading(): void {}

  private openHandle(): FileHandle {
    const handle = this.file.handle();
    if (handle === null) throw new Error(`the staged file ${this.path} is not open`);
    return handle;
  }
}

/** Whether `bytes` are staged (and must be waited for and removed): a StagedSnapshotBytes. */
export function isStaged(bytes: SnapshotBytes): bytes is StagedSnapshotBytes {
  return bytes instanceof StagedSnapshotBytes;
}

/** What the host hears of a staging's writes. */
export interface StagingEvents {
  /** The bytes not yet written fell to the bound after backlogged() said they were over it. */
  onDrained?: () => void;
  /** A chunk's write failed; it is written again until it succeeds. Once per failing spell. */
  onFailing?: (error: unknown) => void;
  /** The failing spell ended: a chunk was written after onFailing, or the staging was removed. */
  onRecovered?: () => void;
}

/** What a staging file is told to do around its writes. */
export interface StagingFileHooks extends StagingEvents {
  /**
   * Called before each chunk's write; a throw fails it, as the disk would (tests), and a promise
   * delays it, as a slow disk would (tests).
   */
  beforeWrite: () => void | Promise<void>;
  /**
   * Bytes appended but not yet written past which the staging is backlogged(): the core holds its
   * answer to the leader's chunk, so a disk slower than the network holds no more than this (and a
   * chunk) in memory instead of the whole snapshot.
   */
  backlogBytesMax: number;
  /** A failed chunk write is tried again after this long, doubling up to retryDelayMsMax. */
  retryDelayMsMin: number;
  retryDelayMsMax: number;
}

export class SnapshotStagingFile implements SnapshotStaging<SnapshotBytes> {
  private readonly path: string;
  private readonly totalBytes: number;
  private readonly hooks: StagingFileHooks;
  private handle: FileHandle | null = null;
  /** The queue of writes: each chunk's write starts when the one before it is done. */
  private tail: Promise<void> = Promise.resolve();
  /** Where the next appended chunk goes in the file. */
  private appendedBytes = 0;
  /** Appended bytes whose write has not ended; 0 once the writes ended (nothing more is written). */
  private unwrittenBytes = 0;
  /** Whether backlogged() said so since the last onDrained. */
  private heldBack = false;
  private ended = false;
  private failing = false;
  /** Wakes a write waiting to be tried again, when the staging is removed. */
  private wakeRetry: (() => void) | null = null;
  private staged: StagedSnapshotBytes | null = null;
  private removal: Promise<void> | null = null;
  private markRemoved: () => void = () => undefined;
  private readonly removedFile = new Promise<void>((resolve) => {
    this.markRemoved = resolve;
  });

  constructor(path: string, totalBytes: number, hooks: StagingFileHooks) {
    this.path = path;
    this.totalBytes = totalBytes;
    this.hooks = hooks;
    this.tail = this.then(async () => {
      // Read and written through one descriptor: reads go on after the file is renamed.
      this.handle = await open(path, "w+");
    });
  }

  append(bytes: Uint8Array): void {
    // A copy: the chunk may be a view into a frame buffer that the transport reuses.
    const copy = Buffer.from(bytes);
    const position = this.appendedBytes;
    this.appendedBytes += copy.byteLength;
    if (!this.ended) this.unwrittenBytes += copy.byteLength;
    this.tail = this.then(() => this.writeChunk(copy, position));
    this.tail.catch(() => this.writesEnded());
  }

  backlogged(): boolean {
    if (this.unwrittenBytes <= this.hooks.backlogBytesMax) return false;
    this.heldBack = true;
    return true;
  }

  bytes(): StagedSnapshotBytes {
    if (this.staged !== null) return this.staged;
    const done = this.tail.catch(async (cause: unknown) => {
      await this.close().catch(() => undefined);
      throw new StorageError("WRITE_FAILED", `cannot stage a snapshot in ${this.path}`, {
        cause,
      });
    });
    // Handled here so that a failure nobody waits for yet is not an unhandled rejection.
    done.catch(() => undefined);
    this.staged = new StagedSnapshotBytes(this.path, this.totalBytes, done, {
      handle: () => this.handle,
      remove: () => this.remove(),
    });
    return this.staged;
  }

  discard(): void {
    void this.remove();
  }

  /** Resolves once the file is removed (by discard(), the bytes' remove(), or the storage's close). */
  removed(): Promise<void> {
    return this.removedFile;
  }

  /**
   * Once, after the writes queued: every caller waits for the same removal. A file moved to be the
   * snapshot file is no longer at this path (the staging's paths are never reused).
   */
  remove(): Promise<void> {
    this.wakeRetry?.();
    this.removal ??= (async () => {
      await this.tail.catch(() => undefined);
      await this.close().catch(() => undefined);
      await rm(this.path, { force: true }).catch(() => undefined);
      this.markRemoved();
    })();
    return this.removal;
  }

  /**
   * Writes `copy` at `position`, again and again if it fails (a full disk frees up; the group
   * committer's rule for batches), until it is written or the staging is removed. A staging that
   * gave up would leave its transfer, which the core has accepted, unable to install until the
   * node restarts. At its position, so a write cut short is written whole the next time.
   */
  private async writeChunk(copy: Buffer, position: number): Promise<void> {
    let delayMs = this.hooks.retryDelayMsMin;
    for (;;) {
      if (this.removal !== null) throw new Error(`the staging ${this.path} was removed`);
      try {
        await this.hooks.beforeWrite();
        await writeAllAt(this.handle as FileHandle, copy, position);
        break;
      } catch (error) {
        if (this.removal !== null) throw error;
        if (!this.failing) {
          this.failing = true;
          this.hooks.onFailing?.(error);
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = null;
      delayMs = Math.min(delayMs * 2, this.hooks.retryDelayMsMax);
    }
    if (this.failing) {
      this.failing = false;
      this.hooks.onRecovered?.();
    }
    this.unwrittenBytes -= copy.byteLength;
    this.drained();
  }

  /** Nothing more is written (removed, or the file never opened): nobody waits on the disk. */
  private writesEnded(): void {
    this.ended = true;
    this.unwrittenBytes = 0;
    this.drained();
    // Whoever counts this staging as failing must not count it for good.
    if (this.failing) {
      this.failing = false;
      this.hooks.onRecovered?.();
    }
  }

  private drained(): void {
    if (!this.heldBack || this.unwrittenBytes > this.hooks.backlogBytesMax) return;
    this.heldBack = false;
    this.hooks.onDrained?.();
  }

  private async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }

  /** Queues `step` after the writes before it; after a final failure, nothing more is written. */
  private then(step: () => Promise<void>): Promise<void> {
    const next = this.tail.then(step);
    next.catch(() => undefined);
    return next;
  }
}
