import { Level } from "level";
import { CompactedError, UnavailableError, entryBytes } from "@dlock/raft";
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata, Storage } from "@dlock/raft";
import {
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeJson,
  decodeSnapshotMetadata,
  decodeUint64,
  encodeEntry,
  encodeHardState,
  encodeJson,
  encodeUint64,
} from "./codec.js";
import { StorageError } from "./errors.js";
import {
  ENTRY_RANGE,
  LOCK_RANGE,
  META_APPLIED_INDEX,
  META_CONF_STATE,
  META_HARD_STATE,
  META_IDENTITY,
  META_SNAPSHOT_DATA,
  META_SNAPSHOT_METADATA,
  entryKey,
  lockKey,
  lockKeyName,
} from "./keys.js";

/** A state-machine record change: bytes to store under the key, or null to delete it. */
export type LockRecordChange = readonly [key: string, record: Uint8Array | null];

/**
 * One unit of work for the storage. Several are written in ONE atomic LevelDB batch (group commit),
 * in order, so a later write's records override an earlier one's.
 */
export interface StorageWrite {
  /** A snapshot received from the leader: replaces the whole log (which restarts after it). */
  snapshot?: Snapshot;
  /** Log entries; may overwrite a suffix of the log starting at entries[0].index. */
  entries?: readonly Entry[];
  hardState?: HardState;
  /** Membership after this write (config entries take effect when appended). */
  confState?: ConfState;
  /** Delete every stored lock record before applying `lockRecords` (snapshot install). */
  resetLockTable?: boolean;
  /** State-machine changes of applied entries, written with `appliedIndex`. */
  lockRecords?: readonly LockRecordChange[];
  /** Highest log index whose effects `lockRecords` (and earlier writes) contain. */
  appliedIndex?: number;
  /** This write must be on disk before the returned promise resolves. */
  mustSync?: boolean;
}

export interface StorageOpenOptions {
  dataDir: string;
  clusterId: string;
  nodeId: string;
  /** Membership written into a fresh data folder (all voters of the initial cluster). */
  initialConfState: ConfState;
  /** fsync writes that ask for it. Turning this off loses acknowledged writes on power loss. */
  fsync?: boolean;
  /**
   * Test hook: called before every batch write; an error it returns is raised as if the disk had
   * failed (full, I/O error). Never set in production.
   */
  writeFault?: () => Error | undefined;
  /** Called after each synced (fsync) batch with how long the write took, for metrics. */
  onSyncedWrite?: (durationMs: number) => void;
}

export interface StorageStats {
  /** Batches written. */
  batches: number;
  /** Batches written with sync (fsync). */
  syncedBatches: number;
  /** Log entries written. */
  entriesWritten: number;
}

interface Identity {
  clusterId: string;
  nodeId: string;
  formatVersion: number;
}

const FORMAT_VERSION = 1;
const EMPTY = new Uint8Array(0);

/**
 * The Raft log, hard state, membership, snapshot and the lock table of one node, in LevelDB.
 *
 * Reads are synchronous from memory (the log since the last compaction, the snapshot, the hard
 * state), as the Raft Storage contract needs; every change goes through write()/compact(), which
 * run one at a time, each as ONE atomic batch, and update the in-memory view only once the batch
 * is written. After a failed write the storage refuses every later write: its memory still shows
 * the last durable state, and what reached the disk is all-or-nothing (LevelDB batch atomicity).
 */
export class LevelStorage implements Storage {
  readonly dataDir: string;
  readonly stats: StorageStats = { batches: 0, syncedBatches: 0, entriesWritten: 0 };

  private readonly db: Level<Buffer, Buffer>;
  private readonly fsync: boolean;
  private readonly writeFault: (() => Error | undefined) | undefined;
  private readonly onSyncedWrite: ((durationMs: number) => void) | undefined;
  private log: Entry[];
  private snapshotMetadata: SnapshotMetadata;
  private snapshotData: Uint8Array;
  private hardState: HardState;
  private confState: ConfState;
  private applied: number;
  private failure: StorageError | null = null;
  private closed = false;
  /** Tail of the chain that runs writes one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    db: Level<Buffer, Buffer>,
    options: StorageOpenOptions,
    state: {
      log: Entry[];
      snapshotMetadata: SnapshotMetadata;
      snapshotData: Uint8Array;
      hardState: HardState;
      confState: ConfState;
      applied: number;
    },
  ) {
    this.db = db;
    this.dataDir = options.dataDir;
    this.fsync = options.fsync ?? true;
    this.writeFault = options.writeFault;
    this.onSyncedWrite = options.onSyncedWrite;
    this.log = state.log;
    this.snapshotMetadata = state.snapshotMetadata;
    this.snapshotData = state.snapshotData;
    this.hardState = state.hardState;
    this.confState = state.confState;
    this.applied = state.applied;
  }

  /**
   * Opens (creating if needed) the data folder. A fresh folder is bootstrapped with the identity
   * and `initialConfState` in one synced batch; an existing one must belong to the same cluster and
   * node (CLUSTER_MISMATCH / NODE_MISMATCH otherwise).
   */
  static async open(options: StorageOpenOptions): Promise<LevelStorage> {
    const db = new Level<Buffer, Buffer>(options.dataDir, {
      keyEncoding: "buffer",
      valueEncoding: "buffer",
    });
    try {
      await db.open();
    } catch (cause) {
      throw new StorageError("OPEN_FAILED", `cannot open data folder ${options.dataDir}`, {
        cause,
      });
    }
    try {
      return await LevelStorage.load(db, options);
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
  }

  private static async load(
    db: Level<Buffer, Buffer>,
    options: StorageOpenOptions,
  ): Promise<LevelStorage> {
    const [identityBytes, hardBytes, confBytes, appliedBytes, snapMetaBytes, snapDataBytes] =
      await db.getMany([
        META_IDENTITY,
        META_HARD_STATE,
        META_CONF_STATE,
        META_APPLIED_INDEX,
        META_SNAPSHOT_METADATA,
        META_SNAPSHOT_DATA,
      ]);
    if (identityBytes === undefined) {
      const identity: Identity = {
        clusterId: options.clusterId,
        nodeId: options.nodeId,
        formatVersion: FORMAT_VERSION,
      };
      const confState = copyConfState(options.initialConfState);
      const hardState: HardState = { term: 0, vote: null, commit: 0 };
      await db
        .batch()
        .put(META_IDENTITY, encodeJson(identity))
        .put(META_CONF_STATE, encodeJson(confState))
        .put(META_HARD_STATE, encodeHardState(hardState))
        .put(META_APPLIED_INDEX, encodeUint64(0))
        .write({ sync: options.fsync ?? true });
      return new LevelStorage(db, options, {
        log: [],
        snapshotMetadata: { index: 0, term: 0, confState },
        snapshotData: EMPTY,
        hardState,
        confState,
        applied: 0,
      });
    }
    const identity = decodeJson(identityBytes, "identity") as Partial<Identity> | null;
    if (identity?.formatVersion !== FORMAT_VERSION) {
      throw new StorageError(
        "CORRUPT",
        `data folder ${options.dataDir} has format version ${String(identity?.formatVersion)}, expected ${FORMAT_VERSION}`,
      );
    }
    if (identity.clusterId !== options.clusterId) {
      throw new StorageError(
        "CLUSTER_MISMATCH",
        `data folder ${options.dataDir} belongs to cluster "${identity.clusterId}", not "${options.clusterId}"`,
      );
    }
    if (identity.nodeId !== options.nodeId) {
      throw new StorageError(
        "NODE_MISMATCH",
        `data folder ${options.dataDir} belongs to node "${identity.nodeId}", not "${options.nodeId}"`,
      );
    }
    if (hardBytes === undefined || confBytes === undefined || appliedBytes === undefined) {
      throw new StorageError("CORRUPT", `data folder ${options.dataDir} misses its state records`);
    }
    const hardState = decodeHardState(hardBytes);
    const confState = decodeConfState(confBytes);
    const applied = decodeUint64(appliedBytes);
    const snapshotMetadata =
      snapMetaBytes === undefined
        ? { index: 0, term: 0, confState }
        : decodeSnapshotMetadata(snapMetaBytes);
    const snapshotData = snapDataBytes === undefined ? EMPTY : new Uint8Array(snapDataBytes);

    // Entries at or below the snapshot index may survive a compaction that was cut short; they
    // are covered by the snapshot and skipped. Above it the log must be contiguous.
    const log: Entry[] = [];
    let expected = snapshotMetadata.index + 1;
    for await (const [key, value] of db.iterator({
      gte: entryKey(expected),
      lt: ENTRY_RANGE.lt,
    })) {
      const index = decodeUint64(key, 1);
      if (index !== expected) {
        throw new StorageError("CORRUPT", `log gap: expected entry ${expected}, found ${index}`);
      }
      log.push(decodeEntry(index, value));
      expected++;
    }
    // applied < snapshot index is legal: a snapshot from the leader is made durable first and the
    // lock table is rewritten from it in the next batch; the host finishes that on open.
    return new LevelStorage(db, options, {
      log,
      snapshotMetadata,
      snapshotData,
      hardState,
      confState,
      applied,
    });
  }

  // ---- Storage (the Raft core's synchronous view) ---------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: copyConfState(this.confState) };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    const last = this.lastIndex();
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.log[index - first];
      bytes += entryBytes(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  term(index: number): number {
    const snapshotIndex = this.snapshotMetadata.index;
    if (index === snapshotIndex) return this.snapshotMetadata.term;
    if (index < snapshotIndex) throw new CompactedError(index, snapshotIndex + 1);
    const last = this.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    return this.log[index - snapshotIndex - 1].term;
  }

  firstIndex(): number {
    return this.snapshotMetadata.index + 1;
  }

  lastIndex(): number {
    return this.snapshotMetadata.index + this.log.length;
  }

  snapshot(): Snapshot {
    return { metadata: this.snapshotMetadata, data: this.snapshotData };
  }

  // ---- Host side -------------------------------------------------------------------------------

  /** Highest applied index whose lock-table effects are durable (or written, when fsync is off). */
  appliedIndex(): number {
    return this.applied;
  }

  /** The error that failed the storage, or null while it is healthy. */
  failed(): StorageError | null {
    return this.failure;
  }

  /** Every stored lock record, in key order (for loading the state machine at start). */
  async readLockRecords(): Promise<Array<[string, Uint8Array]>> {
    const out: Array<[string, Uint8Array]> = [];
    for await (const [key, value] of this.db.iterator(LOCK_RANGE)) {
      out.push([lockKeyName(key), new Uint8Array(value)]);
    }
    return out;
  }

  /**
   * Writes `writes` in order as ONE atomic batch, synced if any asks for it. Resolves once written
   * (and the in-memory view updated); rejects with StorageError and leaves the storage failed.
   */
  write(writes: readonly StorageWrite[]): Promise<void> {
    return this.serialize(() => this.writeNow(writes));
  }

  /**
   * Stores `snapshot` (taken by this node's state machine at snapshot.metadata.index) and deletes
   * the log entries up to its index, in one synced batch. Refused (COMPACTION_REFUSED, the
   * storage stays healthy) when the durable lock table has not absorbed that index, or when the
   * index is outside the log or its term does not match.
   */
  compact(snapshot: Snapshot): Promise<void> {
    return this.serialize(() => this.compactNow(snapshot));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.db.close();
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private checkWritable(): void {
    if (this.closed) throw new StorageError("CLOSED", "storage is closed");
    if (this.failure !== null) {
      throw new StorageError("STORAGE_FAILED", `storage failed earlier: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }

  private async writeNow(writes: readonly StorageWrite[]): Promise<void> {
    this.checkWritable();
    // Simulated view while building: each write sees the log as earlier writes left it.
    let snapshotIndex = this.snapshotMetadata.index;
    let lastIndex = this.lastIndex();
    let applied = this.applied;
    let sync = false;
    let entriesWritten = 0;
    const batch = this.db.batch();
    const lockKeysPut = new Set<string>();
    try {
      for (const write of writes) {
        if (write.mustSync === true) sync = true;
        if (write.snapshot !== undefined) {
          const { metadata, data } = write.snapshot;
          // A snapshot from the leader replaces the whole log: the entries that follow it arrive
          // in later appends, and keeping a stale suffix could contradict the leader's log.
          for (let index = snapshotIndex + 1; index <= lastIndex; index++) {
            batch.del(entryKey(index));
          }
          snapshotIndex = metadata.index;
          lastIndex = metadata.index;
          batch.put(META_SNAPSHOT_METADATA, encodeJson(metadata));
          batch.put(META_SNAPSHOT_DATA, Buffer.from(data.buffer, data.byteOffset, data.length));
          batch.put(META_CONF_STATE, encodeJson(metadata.confState));
        }
        const entries = write.entries;
        if (entries !== undefined && entries.length > 0) {
          const first = entries[0].index;
          if (first <= snapshotIndex || first > lastIndex + 1) {
            throw new StorageError(
              "INVALID_WRITE",
              `entries start at ${first}; the log holds ${snapshotIndex + 1}..${lastIndex}`,
            );
          }
          const newLast = first + entries.length - 1;
          for (let index = newLast + 1; index <= lastIndex; index++) batch.del(entryKey(index));
          for (let i = 0; i < entries.length; i++) {
            const entry = entries[i];
            if (entry.index !== first + i) {
              throw new StorageError(
                "INVALID_WRITE",
                `entries are not contiguous at ${entry.index}`,
              );
            }
            batch.put(entryKey(entry.index), encodeEntry(entry));
          }
          entriesWritten += entries.length;
          lastIndex = newLast;
        }
        if (write.hardState !== undefined) {
          batch.put(META_HARD_STATE, encodeHardState(write.hardState));
        }
        if (write.confState !== undefined) {
          batch.put(META_CONF_STATE, encodeJson(write.confState));
        }
        if (write.resetLockTable === true) {
          for await (const key of this.db.keys(LOCK_RANGE)) batch.del(key);
          for (const key of lockKeysPut) batch.del(lockKey(key));
          lockKeysPut.clear();
        }
        if (write.lockRecords !== undefined) {
          for (const [key, record] of write.lockRecords) {
            if (record === null) {
              batch.del(lockKey(key));
              lockKeysPut.delete(key);
            } else {
              batch.put(lockKey(key), Buffer.from(record.buffer, record.byteOffset, record.length));
              lockKeysPut.add(key);
            }
          }
        }
        if (write.appliedIndex !== undefined) {
          if (write.appliedIndex < applied && write.resetLockTable !== true) {
            throw new StorageError(
              "INVALID_WRITE",
              `applied index would go back from ${applied} to ${write.appliedIndex}`,
            );
          }
          applied = write.appliedIndex;
          batch.put(META_APPLIED_INDEX, encodeUint64(applied));
        }
      }
    } catch (error) {
      await batch.close();
      throw error;
    }
    await this.commit(batch, sync && this.fsync);
    this.stats.entriesWritten += entriesWritten;
    for (const write of writes) this.applyToMemory(write);
  }

  private async commit(
    batch: ReturnType<Level<Buffer, Buffer>["batch"]>,
    sync: boolean,
  ): Promise<void> {
    try {
      const fault = this.writeFault?.();
      if (fault !== undefined) throw fault;
      const startedAt = performance.now();
      await batch.write({ sync });
      if (sync) this.onSyncedWrite?.(performance.now() - startedAt);
    } catch (cause) {
      if (batch.length > 0) await batch.close().catch(() => undefined);
      this.failure = new StorageError("WRITE_FAILED", `write to ${this.dataDir} failed`, { cause });
      throw this.failure;
    }
    this.stats.batches++;
    if (sync) this.stats.syncedBatches++;
  }

  private applyToMemory(write: StorageWrite): void {
    if (write.snapshot !== undefined) {
      this.snapshotMetadata = write.snapshot.metadata;
      this.snapshotData = write.snapshot.data;
      this.confState = copyConfState(write.snapshot.metadata.confState);
      this.log = [];
    }
    const entries = write.entries;
    if (entries !== undefined && entries.length > 0) {
      const offset = entries[0].index - this.snapshotMetadata.index - 1;
      if (offset < this.log.length) this.log.length = offset;
      for (const entry of entries) this.log.push(entry);
    }
    if (write.hardState !== undefined) this.hardState = { ...write.hardState };
    if (write.confState !== undefined) this.confState = copyConfState(write.confState);
    if (write.appliedIndex !== undefined) this.applied = write.appliedIndex;
  }

  private async compactNow(snapshot: Snapshot): Promise<void> {
    this.checkWritable();
    const { index, term } = snapshot.metadata;
    const refuse = (reason: string): never => {
      throw new StorageError("COMPACTION_REFUSED", `cannot compact to ${index}: ${reason}`);
    };
    if (index <= this.snapshotMetadata.index) refuse("already compacted there");
    if (index > this.lastIndex()) refuse(`past the last index ${this.lastIndex()}`);
    if (index > this.applied) {
      refuse(`the durable lock table has only absorbed entries up to ${this.applied}`);
    }
    if (this.term(index) !== term)
      refuse(`term ${term} does not match the log's ${this.term(index)}`);
    const batch = this.db.batch();
    for (let i = this.snapshotMetadata.index + 1; i <= index; i++) batch.del(entryKey(i));
    batch.put(META_SNAPSHOT_METADATA, encodeJson(snapshot.metadata));
    batch.put(
      META_SNAPSHOT_DATA,
      Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.length),
    );
    // Synced: the snapshot must be durable before the entries it replaces are gone.
    await this.commit(batch, this.fsync);
    const dropped = index - this.snapshotMetadata.index;
    this.log = this.log.slice(dropped);
    this.snapshotMetadata = snapshot.metadata;
    this.snapshotData = snapshot.data;
  }
}

function copyConfState(state: ConfState): ConfState {
  return { voters: [...state.voters], learners: [...state.learners] };
}
