// A HostStorage that keeps everything in memory, for tests that run a real RaftHost without a
// data folder. Reachable only through @dlock/server/internal.
import { MemoryStorage } from "@dlock/raft";
import type {
  ConfState,
  Entry,
  HardState,
  Snapshot,
  SnapshotCheck,
  SnapshotMetadata,
} from "@dlock/raft";
import { encodedEntryBytes } from "./codec.js";
import { StorageError } from "./errors.js";
import type { HostStorage, SnapshotContents, StorageStats, StorageWrite } from "./host-storage.js";
import { zeroStorageStats } from "./host-storage.js";
import { confStateOf, copyMembers } from "./members-record.js";
import type { ClusterMembers } from "./members-record.js";
import { SnapshotScan, snapshotProblem } from "./snapshot-format.js";
import { encodeStateSnapshot, inKeyOrder, snapshotContents } from "./snapshot-state.js";
import { wholeSnapshot } from "./snapshot-file-bytes.js";

export interface MemoryHostStorageOptions {
  /** Members of the fresh store: every voter of a new cluster, or nobody for a joining node. */
  initialMembers: ClusterMembers;
  /**
   * Called before every write and compaction; an error it returns fails it (WRITE_FAILED, or
   * COMPACTION_FAILED) and changes nothing, as a full or broken disk would.
   */
  writeFault?: () => Error | undefined;
}

/** What the store holds. */
interface MemoryImage {
  /** The log, hard state and latest snapshot (the core's synchronous view). */
  log: MemoryStorage;
  records: Map<string, Uint8Array>;
  members: ClusterMembers;
  applied: number;
}

/** Stored bytes of one entry beyond its encoding, as LevelStorage counts them (its key). */
const ENTRY_KEY_BYTES = 9;
const ALL_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * LevelStorage's contract in memory: each write() is one atomic batch (a failed one changes
 * nothing), batches run one at a time, reads see only finished writes, snapshots use the same
 * bytes as LevelStorage's. Every finished write is durable: there is no crash to lose it.
 */
export class MemoryHostStorage implements HostStorage {
  readonly stats: StorageStats = zeroStorageStats();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    /** The "disk": shared by every instance reopened from this one, so each sees the latest. */
    private readonly disk: { image: MemoryImage },
    private readonly options: MemoryHostStorageOptions,
  ) {}

  static open(options: MemoryHostStorageOptions): MemoryHostStorage {
    const members = copyMembers(options.initialMembers);
    const log = new MemoryStorage(confStateOf(members));
    return new MemoryHostStorage(
      { image: { log, records: new Map(), members, applied: 0 } },
      options,
    );
  }

  /** The next instance over everything written so far (a restart); this one must be closed. */
  reopen(): MemoryHostStorage {
    if (!this.closed) throw new StorageError("OPEN_FAILED", "close the storage before reopening");
    return new MemoryHostStorage(this.disk, this.options);
  }

  private get image(): MemoryImage {
    return this.disk.image;
  }

  // ---- Storage (the core's synchronous view) ---------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.image.log.initialState();
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.image.log.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.image.log.term(index);
  }

  firstIndex(): number {
    return this.image.log.firstIndex();
  }

  lastIndex(): number {
    return this.image.log.lastIndex();
  }

  snapshot(): Snapshot {
    return this.image.log.snapshot();
  }

  // ---- HostStorage -----------------------------------------------------------------------------

  appliedIndex(): number {
    return this.image.applied;
  }

  appliedMembers(): ClusterMembers {
    return copyMembers(this.image.members);
  }

  readLockRecords(): Promise<Array<[string, Uint8Array]>> {
    return Promise.resolve(inKeyOrder(this.image.records));
  }

  logEntries(): number {
    return this.image.log.lastIndex() - this.image.log.snapshot().metadata.index;
  }

  logBytes(): number {
    let bytes = 0;
    for (const entry of allEntries(this.image.log)) {
      bytes += ENTRY_KEY_BYTES + encodedEntryBytes(entry);
    }
    return bytes;
  }

  snapshotProblem(snapshot: Snapshot): string | null {
    return snapshotProblem(snapshot.data, snapshot.metadata);
  }

  snapshotCheck(metadata: SnapshotMetadata, totalBytes: number): SnapshotCheck {
    return new SnapshotScan(totalBytes, metadata);
  }

  snapshotContents(data: Uint8Array): SnapshotContents {
    return snapshotContents(data);
  }

  write(writes: readonly StorageWrite[]): Promise<void> {
    return this.serialize(async () => {
      this.checkWritable("WRITE_FAILED");
      // Applied to a copy, swapped in whole: a refused batch leaves no trace.
      const next = copyImage(this.image);
      for (const write of writes) applyWrite(next, write);
      this.disk.image = next;
      const { stats } = this;
      stats.batches++;
      if (writes.some((write) => write.mustSync === true)) stats.syncedBatches++;
      stats.entriesWritten += writes.reduce((sum, write) => sum + (write.entries?.length ?? 0), 0);
      stats.snapshotsInstalled += writes.filter((write) => write.snapshot !== undefined).length;
    });
  }

  /** A second call queued behind a compaction finds nothing left to compact (null). */
  createSnapshot(): Promise<SnapshotMetadata | null> {
    return this.serialize(async () => {
      this.checkWritable("COMPACTION_FAILED");
      const { log, records, members, applied } = this.image;
      if (applied <= log.snapshot().metadata.index) return null;
      const data = encodeStateSnapshot(applied, log.term(applied), records, members);
      const snapshot = log.createSnapshot(applied, confStateOf(members), data);
      log.compact(applied);
      this.stats.snapshotsTaken++;
      return snapshot.metadata;
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return this.queue.then(() => undefined);
  }

  private checkWritable(faultCode: "WRITE_FAILED" | "COMPACTION_FAILED"): void {
    if (this.closed) throw new StorageError("CLOSED", "storage is closed");
    const fault = this.options.writeFault?.();
    if (fault !== undefined) {
      throw new StorageError(faultCode, `in-memory write failed: ${fault.message}`, {
        cause: fault,
      });
    }
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function allEntries(log: MemoryStorage): Entry[] {
  return log.entries(log.firstIndex(), log.lastIndex() + 1, ALL_BYTES);
}

function copyImage(image: MemoryImage): MemoryImage {
  const log = new MemoryStorage();
  log.applySnapshot(image.log.snapshot());
  log.append(allEntries(image.log));
  log.setHardState(image.log.hardStateNow());
  return {
    log,
    records: new Map(image.records),
    members: copyMembers(image.members),
    applied: image.applied,
  };
}

function invalid(message: string): never {
  throw new StorageError("INVALID_WRITE", message);
}

/** One write, in LevelStorage's order and with its checks. */
function applyWrite(image: MemoryImage, write: StorageWrite): void {
  const { log } = image;
  if (write.snapshot !== undefined) {
    // Without a staging of its own, the bytes the core gives are a buffer (already whole).
    const snapshot = wholeSnapshot(write.snapshot);
    const { metadata, data } = snapshot;
    if (metadata.index <= image.applied) {
      invalid(`snapshot at ${metadata.index} is not past the applied index ${image.applied}`);
    }
    const problem = snapshotProblem(data, metadata);
    if (problem !== null) invalid(`snapshot from the leader: ${problem}`);
    const contents = snapshotContents(data);
    if (contents.members === null) invalid("snapshot has no members record");
    log.applySnapshot(snapshot);
    image.records = new Map(contents.records);
    image.members = contents.members;
    image.applied = metadata.index;
  }
  const entries = write.entries ?? [];
  const first = entries[0]?.index;
  if (first !== undefined) {
    if (first < log.firstIndex() || first > log.lastIndex() + 1) {
      invalid(`entries start at ${first}; the log holds ${log.firstIndex()}..${log.lastIndex()}`);
    }
    const gap = entries.find((entry, i) => entry.index !== first + i);
    if (gap !== undefined) invalid(`entries are not contiguous at ${gap.index}`);
    log.append(entries);
  }
  if (write.hardState !== undefined) log.setHardState(write.hardState);
  for (const [key, record] of write.lockRecords ?? []) {
    if (record === null) image.records.delete(key);
    else image.records.set(key, record.slice());
  }
  if (write.members !== undefined) image.members = copyMembers(write.members);
  if (write.appliedIndex !== undefined) {
    if (write.appliedIndex < image.applied) {
      invalid(`applied index would go back from ${image.applied} to ${write.appliedIndex}`);
    }
    image.applied = write.appliedIndex;
  }
}
