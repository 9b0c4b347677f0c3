import { Level } from "level";
import { CompactedError, UnavailableError, entryBytes } from "@dlock/raft";
import type {
  ConfState,
  Entry,
  HardState,
  Snapshot,
  SnapshotBytes,
  SnapshotCheck,
  SnapshotMetadata,
  SnapshotStaging,
  StoredSnapshot,
} from "@dlock/raft";
import {
  decodeEntryIn,
  decodeHardState,
  decodeJson,
  decodeSnapshotRecord,
  decodeUint64,
  encodeHardState,
  encodeJson,
  encodeUint64,
} from "./codec.js";
import type { SnapshotRecord } from "./codec.js";
import { EncodedLog } from "./encoded-log.js";
import type { HostStorage, SnapshotContents, StorageStats, StorageWrite } from "./host-storage.js";
import { zeroStorageStats } from "./host-storage.js";
import { StorageError } from "./errors.js";
import {
  ENTRY_RANGE,
  LOCK_RANGE,
  META_APPLIED_INDEX,
  META_HARD_STATE,
  META_IDENTITY,
  META_MEMBERS,
  META_SNAPSHOT_METADATA,
  entryKey,
  lockKey,
  lockKeyName,
} from "./keys.js";
import { confStateOf, copyMembers, decodeMembers, encodeMembers } from "./members-record.js";
import type { ClusterMembers } from "./members-record.js";
import { SnapshotFiles, snapshotFileName } from "./snapshot-files.js";
import { readWindow } from "./snapshot-file-bytes.js";
import { DATA_FORMAT_VERSION, formatVersionRecord, migrateDataFormat } from "./data-format.js";
import {
  SNAPSHOT_SCAN_STEP_BYTES,
  SnapshotEncoder,
  SnapshotScan,
  snapshotProblem,
} from "./snapshot-format.js";
import { snapshotRecordCountOf } from "./snapshot-record-reader.js";
import { SnapshotStagingFile, isStaged } from "./snapshot-staging.js";
import type { StagingEvents } from "./snapshot-staging.js";
import { DEFAULT_GROUP_COMMIT_OPTIONS } from "./group-commit.js";
import type { AppendSnapshotBytes } from "./snapshot-files.js";
import type { StateExport } from "./state-export.js";
import { snapshotContents, snapshotLockValueChunks, snapshotMembers } from "./snapshot-state.js";
import {
  finishInterruptedInstall,
  installableMembers,
  switchToInstalled,
  writeSnapshotTable,
} from "./snapshot-install.js";
import type { InstallTarget } from "./snapshot-install.js";

export type { LockRecordChange, StorageStats, StorageWrite } from "./host-storage.js";

export interface StorageOpenOptions {
  dataDir: string;
  clusterId: string;
  nodeId: string;
  /**
   * Members written into a fresh data folder: every voter of a new cluster, or nobody for a node
   * that joins an existing cluster (it learns the members from the leader).
   */
  initialMembers: ClusterMembers;
  /** fsync writes that ask for it. Turning this off loses acknowledged writes on power loss. */
  fsync?: boolean;
  /**
   * Test hook: called before every batch write; an error it returns is raised as if the disk had
   * failed (full, I/O error). Never set in production.
   */
  writeFault?: () => Error | undefined;
  /** Test hook: awaited before each staged snapshot chunk is written (a slow disk). */
  stagingWriteDelay?: () => Promise<void>;
  /**
   * Bytes of a leader's snapshot received but not yet written past which the next chunk is not
   * acknowledged (see SnapshotStagingFile): what a disk slower than the network costs in memory.
   */
  stagingBacklogBytesMax?: number;
  /** Called after each synced (fsync) batch with how long the write took, for metrics. */
  onSyncedWrite?: (durationMs: number) => void;
}

/** The point a compaction snapshots at, captured in the write order. */
interface SnapshotPoint {
  index: number;
  term: number;
  view: ReturnType<Level<Buffer, Buffer>["snapshot"]>;
}

interface Identity {
  clusterId: string;
  nodeId: string;
  formatVersion: number;
}

/** The identity record's copy of the format version (the m:formatVersion key decides). */
const FORMAT_VERSION = DATA_FORMAT_VERSION;
const EMPTY = new Uint8Array(0);
/** Stored bytes of one log entry beyond its encoded value: the 9-byte key. */
const ENTRY_KEY_BYTES = 9;
/** Records read per step while dumping the table for a snapshot. */
const DUMP_STEP_RECORDS = 1024;
/** Lock records read per step while loading the table at start. */
const LOAD_STEP_RECORDS = 4096;
/** Records (or log entries to delete) added to an install's batch between two turns of the event loop. */
const INSTALL_STEP_RECORDS = 2048;
/**
 * Log entries and lock records put into one batch between two turns of the event loop. A
 * follower catching up after a snapshot install had appends pile up while a write was in flight
 * and staged the next batch's thousands of entries in one turn (~30 ms, its code still cold).
 */
export const WRITE_STEP_PUTS = 512;
/**
 * Received snapshot bytes not yet written past which the next chunk waits (the leader sends 512
 * KiB chunks): a few chunks keep the disk busy, and a slow disk costs at most this in memory.
 */
export const STAGING_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The Raft log, hard state, members, snapshot and the lock table of one node, in LevelDB (plus
 * snapshot files next to it).
 *
 * Reads are synchronous from memory (the log since the last compaction, the snapshot, the hard
 * state), as the Raft Storage contract needs; every change goes through write() or
 * createSnapshot(), whose LevelDB batches run one at a time, each atomic, and update the in-memory
 * view only once written.
 *
 * A failed write (disk full, I/O error) leaves memory at the last durable state and what reached
 * the disk all-or-nothing (LevelDB batch atomicity). The storage is then failing (failed() says
 * why, compactions are refused) until a write succeeds: the next write first reopens the database
 * (LevelDB refuses every write after a failed sync until reopened) and the caller writes the same
 * batch again, which is harmless even if the failed attempt did reach the disk.
 */
export class LevelStorage implements HostStorage {
  readonly dataDir: string;
  readonly stats: StorageStats = zeroStorageStats();
  /** The format migrations this open ran (empty when the folder was current or new). */
  migrations: string[] = [];
  /** The index of the snapshot whose install, cut short by a crash, this open finished; else null. */
  finishedInstall: number | null = null;

  private readonly db: Level<Buffer, Buffer>;
  private readonly files: SnapshotFiles;
  private readonly fsync: boolean;
  private readonly writeFault: (() => Error | undefined) | undefined;
  private readonly stagingWriteDelay: (() => Promise<void>) | undefined;
  private readonly stagingBacklogBytesMax: number;
  private readonly onSyncedWrite: ((durationMs: number) => void) | undefined;
  /** The log above the snapshot, as stored (decoded on each read). */
  private readonly log: EncodedLog;
  private snapshotMetadata: SnapshotMetadata;
  /** The current snapshot's bytes: in its file, read only when a follower is sent it. */
  private snapshotBytes: SnapshotBytes;
  private snapshotFile: string | null;
  private hardState: HardState;
  private members: ClusterMembers;
  private applied: number;
  private failure: StorageError | null = null;
  private closed = false;
  /** Leaders' snapshots being staged or installed; removed once their files are. */
  private readonly stagings = new Set<SnapshotStagingFile>();
  private snapshotting = false;
  /** The deletion of compacted entries (never rejects), which close() waits for. */
  private dropping: Promise<void> = Promise.resolve();
  /** Tail of the chain that runs writes one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    db: Level<Buffer, Buffer>,
    files: SnapshotFiles,
    options: StorageOpenOptions,
    state: {
      log: EncodedLog;
      snapshot: SnapshotRecord;
      snapshotBytes: SnapshotBytes;
      hardState: HardState;
      members: ClusterMembers;
      applied: number;
    },
  ) {
    this.db = db;
    this.files = files;
    this.dataDir = options.dataDir;
    this.fsync = options.fsync ?? true;
    this.writeFault = options.writeFault;
    this.stagingWriteDelay = options.stagingWriteDelay;
    this.stagingBacklogBytesMax = options.stagingBacklogBytesMax ?? STAGING_BACKLOG_BYTES_MAX;
    this.onSyncedWrite = options.onSyncedWrite;
    this.log = state.log;
    this.snapshotMetadata = state.snapshot.metadata;
    this.snapshotFile = state.snapshot.file;
    this.snapshotBytes = state.snapshotBytes;
    this.hardState = state.hardState;
    this.members = state.members;
    this.applied = state.applied;
  }

  /**
   * Opens (creating if needed) the data folder. A fresh folder is bootstrapped with the identity
   * and `initialMembers` in one synced batch; an existing one must belong to the same cluster and
   * node (CLUSTER_MISMATCH / NODE_MISMATCH otherwise). Snapshot files other than the current one
   * (older ones whose deletion a crash cut short, half-written temporaries) are deleted.
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
    const files = new SnapshotFiles(options.dataDir, options.fsync ?? true);
    await files.prepare();
    const identityBytes = await db.get(META_IDENTITY);
    if (identityBytes === undefined) {
      const identity: Identity = {
        clusterId: options.clusterId,
        nodeId: options.nodeId,
        formatVersion: FORMAT_VERSION,
      };
      const members = copyMembers(options.initialMembers);
      const snapshot: SnapshotRecord = {
        metadata: { index: 0, term: 0, confState: confStateOf(members) },
        file: null,
      };
      const hardState: HardState = { term: 0, vote: null, commit: 0 };
      await db
        .batch()
        .put(META_IDENTITY, encodeJson(identity))
        .put(META_MEMBERS, encodeMembers(members))
        .put(META_SNAPSHOT_METADATA, encodeJson(snapshot))
        .put(META_HARD_STATE, encodeHardState(hardState))
        .put(META_APPLIED_INDEX, encodeUint64(0))
        .put(...formatVersionRecord())
        .write({ sync: options.fsync ?? true });
      await files.removeAllBut(null, true);
      return new LevelStorage(db, files, options, {
        log: new EncodedLog(1),
        snapshot,
        snapshotBytes: EMPTY,
        hardState,
        members,
        applied: 0,
      });
    }
    const identity = decodeJson(identityBytes, "identity") as Partial<Identity> | null;
    if (identity === null) {
      throw new StorageError("CORRUPT", `data folder ${options.dataDir} has no identity record`);
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
    // Before decoding the state records: a newer folder may mean something else by them.
    const migrations = await migrateDataFormat(
      db,
      options.dataDir,
      identity.formatVersion,
      options.fsync ?? true,
    );
    // Before reading the state records: the install's switching batch writes them.
    const finishedInstall = await finishInterruptedInstall(
      db,
      files,
      options.dataDir,
      options.fsync ?? true,
    );
    const [hardBytes, appliedBytes, snapshotRecordBytes, membersBytes] = await db.getMany([
      META_HARD_STATE,
      META_APPLIED_INDEX,
      META_SNAPSHOT_METADATA,
      META_MEMBERS,
    ]);
    if (
      hardBytes === undefined ||
      appliedBytes === undefined ||
      snapshotRecordBytes === undefined ||
      membersBytes === undefined
    ) {
      throw new StorageError("CORRUPT", `data folder ${options.dataDir} misses its state records`);
    }
    const hardState = decodeHardState(hardBytes);
    const applied = decodeUint64(appliedBytes);
    const members = decodeMembers(membersBytes);
    const snapshot = decodeSnapshotRecord(snapshotRecordBytes);
    const { index: snapshotIndex, term: snapshotTerm } = snapshot.metadata;
    let snapshotBytes: SnapshotBytes = EMPTY;
    if (snapshot.file !== null) {
      let checked: Awaited<ReturnType<SnapshotFiles["check"]>>;
      try {
        // Read a step at a time and not kept: a million locks made an 86 MiB file.
        checked = await files.check(snapshot.file, { index: snapshotIndex, term: snapshotTerm });
      } catch (cause) {
        throw new StorageError("CORRUPT", `snapshot file ${snapshot.file} cannot be read`, {
          cause,
        });
      }
      if ("problem" in checked) {
        throw new StorageError("CORRUPT", `snapshot file ${snapshot.file}: ${checked.problem}`);
      }
      snapshotBytes = checked.bytes;
    } else if (snapshotIndex !== 0) {
      throw new StorageError("CORRUPT", `snapshot at ${snapshotIndex} has no file`);
    }
    if (applied < snapshotIndex) {
      // Installs and compactions write the table with the snapshot: this cannot happen.
      throw new StorageError(
        "CORRUPT",
        `applied index ${applied} is below the snapshot index ${snapshotIndex}`,
      );
    }
    await files.removeAllBut(snapshot.file, true);

    // Entries at or below the snapshot index may survive a compaction that was cut short; they
    // are covered by the snapshot and skipped. Above it the log must be contiguous.
    const log = new EncodedLog(snapshotIndex + 1);
    let expected = snapshotIndex + 1;
    for await (const [key, value] of db.iterator({
      gte: entryKey(expected),
      lt: ENTRY_RANGE.lt,
    })) {
      const index = decodeUint64(key, 1);
      if (index !== expected) {
        throw new StorageError("CORRUPT", `log gap: expected entry ${expected}, found ${index}`);
      }
      decodeEntryIn(index, value, 0, value.length); // throws CORRUPT for a malformed record
      log.stageEncoded(value);
      log.appendStaged(1);
      expected++;
    }
    log.commitStaged();
    const storage = new LevelStorage(db, files, options, {
      log,
      snapshot,
      snapshotBytes,
      hardState,
      members,
      applied,
    });
    storage.migrations = migrations;
    storage.finishedInstall = finishedInstall;
    return storage;
  }

  // ---- Storage (the Raft core's synchronous view) ---------------------------------------------

  /**
   * The hard state and the membership as of the snapshot (the bootstrap membership before any):
   * the core replays the config entries stored after it.
   */
  initialState(): { hardState: HardState; confState: ConfState } {
    return {
      hardState: { ...this.hardState },
      confState: copyConfState(this.snapshotMetadata.confState),
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    const last = this.lastIndex();
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.log.entry(index); // first <= lo < hi <= last + 1
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
    return this.log.term(index);
  }

  firstIndex(): number {
    return this.snapshotMetadata.index + 1;
  }

  lastIndex(): number {
    return this.snapshotMetadata.index + this.log.length();
  }

  snapshot(): StoredSnapshot {
    return { metadata: this.snapshotMetadata, data: this.snapshotBytes };
  }

  // ---- Host side -------------------------------------------------------------------------------

  /** Highest applied index whose lock-table effects are durable (or written, when fsync is off). */
  appliedIndex(): number {
    return this.applied;
  }

  /** The members as of appliedIndex(). */
  appliedMembers(): ClusterMembers {
    return copyMembers(this.members);
  }

  /** Entries in the log above the snapshot. */
  logEntries(): number {
    return this.log.length();
  }

  /** Stored bytes of the log above the snapshot (keys and values). */
  logBytes(): number {
    return this.log.encodedBytes() + ENTRY_KEY_BYTES * this.log.length();
  }

  snapshotProblem(snapshot: Snapshot): string | null {
    return snapshotProblem(snapshot.data, snapshot.metadata);
  }

  snapshotCheck(metadata: SnapshotMetadata, totalBytes: number): SnapshotCheck {
    return new SnapshotScan(totalBytes, metadata);
  }

  /** The lock records (by lock key) and the members record of a snapshot in this format. */
  snapshotContents(data: Uint8Array): SnapshotContents {
    return snapshotContents(data);
  }

  snapshotLockRecordChunks(
    data: SnapshotBytes,
    onMembers?: (members: ClusterMembers) => void,
  ): AsyncIterable<Uint8Array[]> {
    return snapshotLockValueChunks(data, undefined, onMembers);
  }

  snapshotMembers(data: Uint8Array): ClusterMembers | null {
    return snapshotMembers(data);
  }

  snapshotRecordCount(data: SnapshotBytes): number {
    return snapshotRecordCountOf(data);
  }

  /** A leader's snapshot goes to a file in the snapshots folder as it arrives. */
  snapshotStaging(
    metadata: SnapshotMetadata,
    totalBytes: number,
    events: StagingEvents = {},
  ): SnapshotStaging<SnapshotBytes> {
    const path = this.files.stagingPath(metadata.index, metadata.term);
    const delay = this.stagingWriteDelay;
    const staging = new SnapshotStagingFile(path, totalBytes, {
      beforeWrite:
        delay === undefined
          ? () => this.throwInjectedFault()
          : async () => {
              await delay();
              this.throwInjectedFault();
            },
      ...events,
      backlogBytesMax: this.stagingBacklogBytesMax,
      retryDelayMsMin: DEFAULT_GROUP_COMMIT_OPTIONS.retryDelayMsMin,
      retryDelayMsMax: DEFAULT_GROUP_COMMIT_OPTIONS.retryDelayMsMax,
    });
    this.stagings.add(staging);
    void staging.removed().then(() => this.stagings.delete(staging));
    return staging;
  }

  async snapshotBytesWritten(data: SnapshotBytes): Promise<void> {
    if (isStaged(data)) await data.written();
  }

  releaseSnapshotBytes(data: SnapshotBytes): void {
    if (isStaged(data)) void data.remove();
  }

  /** Why the last write failed, while no write has succeeded since; null while healthy. */
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
   * Every stored lock record, in key order, LOAD_STEP_RECORDS at a time: restart decodes each
   * piece into the table before the next is read, so a million records are never all in memory
   * as buffers, key strings and pairs at once.
   */
  async *lockRecordChunks(): AsyncGenerator<Uint8Array[]> {
    const iterator = this.db.values(LOCK_RANGE);
    let reading: Promise<Buffer[]> | null = null;
    try {
      reading = iterator.nextv(LOAD_STEP_RECORDS);
      for (;;) {
        const values = await reading;
        reading = null;
        if (values.length === 0) return;
        // LevelDB reads the next piece on its own thread while the caller decodes this one.
        reading = iterator.nextv(LOAD_STEP_RECORDS);
        yield values;
      }
    } finally {
      // A read in flight must end before the iterator closes.
      await reading?.catch(() => undefined);
      await iterator.close();
    }
  }

  /**
   * Writes `writes` in order as ONE atomic batch, synced if any asks for it. Resolves once written
   * (and the in-memory view updated); rejects with StorageError and leaves the storage failed.
   * A snapshot from the leader is the exception: the writes before it go first, its table in
   * batches under an install marker, and the batch that switches to it carries the writes after
   * it (snapshot-install.ts); an open finishes an install that a crash cut short.
   */
  write(writes: readonly StorageWrite[]): Promise<void> {
    return this.serialize(() => this.writeNow(writes));
  }

  /**
   * Compaction: snapshots the durable state at the durable applied index A and drops the log up
   * to A. The point is taken in the write order (a LevelDB snapshot, so later writes do not show
   * through), the table is dumped while writes go on, the file is made durable, and one synced
   * batch then switches to it; the older file is deleted after that, and the entries up to A are
   * deleted by LevelDB off the event loop (dropCompactedEntries).
   * Resolves with the new snapshot's metadata, or null when there is nothing to compact, another
   * compaction runs, or a snapshot from the leader overtook this one. A failure of the file leaves
   * the storage healthy (COMPACTION_FAILED); a failure of the batch fails it like any write.
   */
  async createSnapshot(): Promise<SnapshotMetadata | null> {
    if (this.snapshotting) return null;
    this.snapshotting = true;
    try {
      const point = await this.serialize(async () => this.snapshotPoint());
      if (point === null) return null;
      const file = snapshotFileName(point.index, point.term);
      let members: ClusterMembers | null = null;
      let byteLength: number;
      try {
        // Streamed to the file as it is dumped: encoding the table whole, then copying it into
        // one buffer, held the event loop for hundreds of milliseconds at a million locks.
        byteLength = await this.files.writeStreamed(file, async (append) => {
          members = await this.dumpTo(point, append);
        });
      } catch (cause) {
        if (cause instanceof StorageError) throw cause;
        throw new StorageError("COMPACTION_FAILED", `cannot write snapshot file ${file}`, {
          cause,
        });
      } finally {
        await point.view.close();
      }
      if (members === null) throw new StorageError("CORRUPT", "members record missing");
      const metadata: SnapshotMetadata = {
        index: point.index,
        term: point.term,
        confState: confStateOf(members),
      };
      const bytes = this.files.bytesOf(file, byteLength);
      const switched = await this.serialize(() => this.switchToSnapshot(metadata, file, bytes));
      if (!switched) {
        // In the write order: an install running now has written its file but not yet switched.
        await this.serialize(() => this.removeFileQuietly());
        return null;
      }
      this.stats.snapshotsTaken++;
      const dropping = this.dropCompactedEntries(metadata.index);
      this.dropping = dropping;
      await dropping;
      return metadata;
    } finally {
      this.snapshotting = false;
    }
  }

  /**
   * The stored state at the durable applied index, for `dlock snapshot save`: a LevelDB snapshot
   * taken in the write order, so writes that go on meanwhile do not show through, and dumped as
   * snapshot bytes a piece at a time (as often as asked, the same bytes each time) until closed.
   * Unlike createSnapshot() it changes nothing: no file, no log compaction.
   */
  async exportState(): Promise<StateExport> {
    const point = await this.serialize(async () => {
      if (this.closed) throw new StorageError("CLOSED", "storage is closed");
      const index = this.applied;
      return { index, term: this.term(index), view: this.db.snapshot() };
    });
    return {
      index: point.index,
      term: point.term,
      dump: (append, onRecord) => this.dumpTo(point, append, onRecord),
      close: () => point.view.close(),
    };
  }

  /**
   * Deletes the stored entries up to `last` (now covered by the snapshot) and reclaims their
   * space. One `del` per entry in the switching batch cost a synchronous loop of ~150 ms per
   * 100,000 entries on the event loop (a stall of three heartbeats, more on a busy machine);
   * LevelDB's range delete runs on its own thread instead. Correct without atomicity: opening
   * skips entries at or below the snapshot index, and this range starts at the first possible
   * entry, so it also removes any that an interrupted compaction left. Best effort.
   *
   * Deleted entries stay on disk as tombstones over their older copies until LevelDB's own
   * compaction merges them into the deepest level holding that key range; under steady refresh
   * traffic that waits for level 1 to fill (10 MB), so the folder grew with the traffic until
   * then. A manual compaction of the deleted range drops them now, rewriting only the files
   * that overlap it. If it fails, LevelDB still drops them later on its own.
   */
  private async dropCompactedEntries(last: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.db.clear({ gte: ENTRY_RANGE.gte, lte: entryKey(last) });
    } catch {
      // Left entries are skipped at open and deleted by the next compaction; nothing is lost.
      return;
    }
    // `level` resolves to classic-level in Node, which has compactRange (its type does not say).
    const db = this.db as unknown as {
      compactRange?: (start: Buffer, end: Buffer) => Promise<void>;
    };
    if (typeof db.compactRange !== "function" || this.closed) return;
    try {
      await db.compactRange(ENTRY_RANGE.gte, entryKey(last));
    } catch {
      // Space is reclaimed later by LevelDB's background compaction; nothing is lost.
    }
  }

  /** Reads a record of this node alone (not replicated, not in snapshots), e.g. its data folder id. */
  async readLocalRecord(key: Buffer): Promise<Buffer | undefined> {
    return this.db.get(key);
  }

  /** Writes (synced) a record of this node alone; see readLocalRecord. */
  async writeLocalRecord(key: Buffer, value: Buffer): Promise<void> {
    await this.db.put(key, value, { sync: this.fsync });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.dropping;
    // Transfers that never finished: their files are garbage (the next open deletes them too).
    await Promise.all([...this.stagings].map((staging) => staging.remove()));
    await this.db.close();
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Compactions wait for the storage to write again: they are never urgent. */
  private checkCompactable(): void {
    if (this.closed) throw new StorageError("CLOSED", "storage is closed");
    if (this.failure !== null) {
      throw new StorageError("COMPACTION_FAILED", `storage is failing: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }

  /** A write after a failure first reopens LevelDB, which replays its log as it is on disk. */
  private async reopenAfterFailure(): Promise<void> {
    // A range delete still running would fail with the close; let it finish first.
    await this.dropping;
    try {
      if (this.db.status === "open") await this.db.close();
      await this.db.open();
    } catch (cause) {
      this.failure = new StorageError("WRITE_FAILED", `cannot reopen ${this.dataDir}`, { cause });
      throw this.failure;
    }
  }

  /** Runs in the write order: no batch is in flight, so memory and LevelDB agree. */
  private snapshotPoint(): SnapshotPoint | null {
    this.checkCompactable();
    const index = this.applied;
    if (index <= this.snapshotMetadata.index) return null;
    return { index, term: this.term(index), view: this.db.snapshot() };
  }

  /**
   * Encodes the stored state at `point` as snapshot bytes, handing them to `append` a piece at a
   * time as the table is read. Returns the members record.
   */
  private async dumpTo(
    point: SnapshotPoint,
    append: AppendSnapshotBytes,
    onLockRecord?: (key: Buffer, value: Buffer) => void,
  ): Promise<ClusterMembers> {
    const encoder = new SnapshotEncoder(point.index, point.term);
    const iterator = this.db.iterator({ ...LOCK_RANGE, snapshot: point.view });
    try {
      for (;;) {
        const rows = await iterator.nextv(DUMP_STEP_RECORDS);
        if (rows.length === 0) break;
        for (const [key, value] of rows) {
          encoder.add(key, value);
          onLockRecord?.(key, value);
        }
        await append(encoder.takePieces());
      }
    } finally {
      await iterator.close();
    }
    const membersBytes = await this.db.get(META_MEMBERS, { snapshot: point.view });
    if (membersBytes === undefined) throw new StorageError("CORRUPT", "members record missing");
    encoder.add(META_MEMBERS, membersBytes);
    await append(encoder.finishPieces());
    return decodeMembers(membersBytes);
  }

  private async switchToSnapshot(
    metadata: SnapshotMetadata,
    file: string,
    bytes: SnapshotBytes,
  ): Promise<boolean> {
    this.checkCompactable();
    const { index, term } = metadata;
    // A snapshot from the leader installed meanwhile already covers this one.
    if (index <= this.snapshotMetadata.index) return false;
    // Entries up to the applied index are committed and never change; check rather than trust.
    if (this.term(index) !== term) {
      throw new StorageError(
        "COMPACTION_FAILED",
        `term ${term} of the snapshot does not match the log's ${this.term(index)} at ${index}`,
      );
    }
    const batch = this.db.batch();
    const record: SnapshotRecord = { metadata, file };
    batch.put(META_SNAPSHOT_METADATA, encodeJson(record));
    // Synced: the snapshot must be durable before the entries it replaces are gone (they are
    // deleted after this, by dropCompactedEntries). A failure here changes nothing that Raft
    // relies on; the next Raft write finds out if the disk fails.
    try {
      await this.commit(batch, this.fsync, false);
    } catch (cause) {
      throw new StorageError("COMPACTION_FAILED", `cannot switch to snapshot ${file}`, { cause });
    }
    this.log.dropThrough(index);
    const previousFile = this.snapshotFile;
    this.snapshotMetadata = metadata;
    this.snapshotBytes = bytes;
    this.snapshotFile = file;
    if (previousFile !== null && previousFile !== file) await this.removeFileQuietly();
    return true;
  }

  /** Older files are garbage once the new one is referenced durably; a failure here is retried at the next start. */
  private async removeFileQuietly(): Promise<void> {
    await this.files.removeAllBut(this.snapshotFile).catch(() => undefined);
  }

  private async writeNow(writes: readonly StorageWrite[]): Promise<void> {
    if (this.closed) throw new StorageError("CLOSED", "storage is closed");
    if (this.failure !== null) await this.reopenAfterFailure();
    // Simulated view while building: each write sees the log as earlier writes left it.
    let snapshotIndex = this.snapshotMetadata.index;
    let lastIndex = this.lastIndex();
    let applied = this.applied;
    let sync = false;
    let entriesWritten = 0;
    // Puts staged so far: the batch is built over turns (WRITE_STEP_PUTS), as if written longer.
    let puts = 0;
    let batch = this.db.batch();
    const installed: Array<{ file: string; members: ClusterMembers }> = [];
    try {
      for (const write of writes) {
        if (write.mustSync === true) sync = true;
        if (write.snapshot !== undefined) {
          const { metadata, data } = write.snapshot;
          // Staged bytes are whole once their writes are done; a failed one fails this write.
          await this.snapshotBytesWritten(data);
          if (metadata.index <= applied) {
            throw new StorageError(
              "INVALID_WRITE",
              `snapshot at ${metadata.index} is not past the applied index ${applied}`,
            );
          }
          const problem = await snapshotProblemStepped(data, metadata);
          if (problem !== null) {
            throw new StorageError("INVALID_WRITE", `snapshot from the leader: ${problem}`);
          }
          const members = await installableMembers(data);
          const file = snapshotFileName(metadata.index, metadata.term);
          await this.writeSnapshotFile(file, data);
          // The writes before it go first: their lock records must not land over the snapshot's.
          if (batch.length > 0) await this.commit(batch, false);
          else await batch.close();
          const record: SnapshotRecord = { metadata, file };
          await writeSnapshotTable(this.installTarget(), record, data);
          // The batch that switches to the snapshot; it also carries the writes after it.
          batch = this.db.batch();
          // A snapshot from the leader replaces the whole log: the entries that follow it arrive
          // in later appends, and keeping a stale suffix could contradict the leader's log.
          for (let index = snapshotIndex + 1; index <= lastIndex; index++) {
            batch.del(entryKey(index));
            if ((index - snapshotIndex) % INSTALL_STEP_RECORDS === 0) await nextTurn();
          }
          snapshotIndex = metadata.index;
          lastIndex = metadata.index;
          switchToInstalled(batch, record, members);
          applied = metadata.index;
          installed.push({ file, members });
        }
        const entries = write.entries;
        const first = entries?.[0]?.index;
        if (entries !== undefined && first !== undefined) {
          if (first <= snapshotIndex || first > lastIndex + 1) {
            throw new StorageError(
              "INVALID_WRITE",
              `entries start at ${first}; the log holds ${snapshotIndex + 1}..${lastIndex}`,
            );
          }
          const newLast = first + entries.length - 1;
          for (let index = newLast + 1; index <= lastIndex; index++) batch.del(entryKey(index));
          let expected = first;
          for (const entry of entries) {
            if (entry.index !== expected++) {
              throw new StorageError(
                "INVALID_WRITE",
                `entries are not contiguous at ${entry.index}`,
              );
            }
            // Encoded into the in-memory log's free space; part of the log once written.
            batch.put(entryKey(entry.index), this.log.stage(entry));
            if (++puts % WRITE_STEP_PUTS === 0) await nextTurn();
          }
          entriesWritten += entries.length;
          lastIndex = newLast;
        }
        if (write.hardState !== undefined) {
          batch.put(META_HARD_STATE, encodeHardState(write.hardState));
        }
        if (write.lockRecords !== undefined) {
          for (const [key, record] of write.lockRecords) {
            if (record === null) batch.del(lockKey(key));
            else {
              batch.put(lockKey(key), Buffer.from(record.buffer, record.byteOffset, record.length));
            }
            if (++puts % WRITE_STEP_PUTS === 0) await nextTurn();
          }
        }
        if (write.members !== undefined) batch.put(META_MEMBERS, encodeMembers(write.members));
        if (write.appliedIndex !== undefined) {
          if (write.appliedIndex < applied) {
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
      // Written or closed already when an install's batches failed.
      await batch.close().catch(() => undefined);
      this.log.discardStaged();
      throw error;
    }
    try {
      await this.commit(batch, sync && this.fsync);
    } catch (error) {
      this.log.discardStaged();
      throw error;
    }
    this.stats.entriesWritten += entriesWritten;
    let installedAny = false;
    for (const write of writes) {
      if (write.snapshot !== undefined) {
        const { file, members } = installed.shift() as { file: string; members: ClusterMembers };
        this.snapshotFile = file;
        // Its file is written: read from that when needed rather than keep the bytes sent.
        this.snapshotBytes = this.files.bytesOf(file, write.snapshot.data.byteLength);
        this.members = members;
        this.stats.snapshotsInstalled++;
        installedAny = true;
      }
      this.applyToMemory(write);
    }
    this.log.commitStaged();
    if (installedAny) await this.removeFileQuietly();
  }

  /**
   * The snapshot file of a leader's snapshot; its failure is a failed write like any other. A
   * staged snapshot's file (checked by now) becomes it by a rename, as durable as a written one:
   * synced, renamed, the folder synced. A copy cost a read and a write of the whole (86 MiB at a
   * million locks). Bytes in memory, or staged bytes moved by an earlier try, are copied.
   */
  private async writeSnapshotFile(file: string, data: SnapshotBytes): Promise<void> {
    try {
      this.throwInjectedFault();
      if (isStaged(data) && (await data.moveTo(this.files.pathOf(file), this.fsync))) {
        await this.files.syncFolder();
        return;
      }
      // A window at a time: staged bytes are read from their file, never whole.
      const window = Buffer.allocUnsafe(Math.min(data.byteLength, SNAPSHOT_SCAN_STEP_BYTES));
      await this.files.writeStreamed(file, async (append) => {
        for (let at = 0; at < data.byteLength; at += SNAPSHOT_SCAN_STEP_BYTES) {
          const end = Math.min(data.byteLength, at + SNAPSHOT_SCAN_STEP_BYTES);
          // The window is free again once append() resolves: its bytes are written.
          await append([readWindow(data, at, end, window)]);
        }
      });
    } catch (cause) {
      this.failure = new StorageError("WRITE_FAILED", `cannot write snapshot file ${file}`, {
        cause,
      });
      throw this.failure;
    }
  }

  /** The storage's own write path for an install's batches: fault injection, failure state. */
  private installTarget(): InstallTarget {
    return {
      batch: () => this.db.batch(),
      commit: (batch) => this.commit(batch, false),
      clear: async (range) => {
        try {
          this.throwInjectedFault();
          await this.db.clear(range);
        } catch (cause) {
          throw this.writeFailed(cause, true);
        }
      },
    };
  }

  /** Writes `batch`; a failure marks the storage failing unless `raftWrite` is false. */
  private async commit(
    batch: ReturnType<Level<Buffer, Buffer>["batch"]>,
    sync: boolean,
    raftWrite = true,
  ): Promise<void> {
    try {
      this.throwInjectedFault();
      const startedAt = performance.now();
      await batch.write({ sync });
      if (sync) this.onSyncedWrite?.(performance.now() - startedAt);
    } catch (cause) {
      if (batch.length > 0) await batch.close().catch(() => undefined);
      throw this.writeFailed(cause, raftWrite);
    }
    if (raftWrite) this.failure = null;
    this.stats.batches++;
    if (sync) this.stats.syncedBatches++;
  }

  /** The test switch writeFault: a write that fails as the disk would. */
  private throwInjectedFault(): void {
    const fault = this.writeFault?.();
    if (fault !== undefined) throw fault;
  }

  /** The error for a failed write; a Raft write's failure marks the storage failing. */
  private writeFailed(cause: unknown, raftWrite: boolean): StorageError {
    const error = new StorageError("WRITE_FAILED", `write to ${this.dataDir} failed`, { cause });
    if (raftWrite) this.failure = error;
    return error;
  }

  private applyToMemory(write: StorageWrite): void {
    if (write.snapshot !== undefined) {
      this.snapshotMetadata = write.snapshot.metadata;
      this.log.reset(write.snapshot.metadata.index + 1);
      this.applied = write.snapshot.metadata.index;
    }
    const entries = write.entries;
    const first = entries?.[0]?.index;
    if (entries !== undefined && first !== undefined) {
      this.log.truncateFrom(first);
      this.log.appendStaged(entries.length);
    }
    if (write.hardState !== undefined) this.hardState = { ...write.hardState };
    if (write.members !== undefined) this.members = copyMembers(write.members);
    if (write.appliedIndex !== undefined) this.applied = write.appliedIndex;
  }
}

/**
 * snapshotProblem() a megabyte at a time with a turn of the event loop between: a leader's
 * snapshot of a million locks is 86 MiB, whose checksum and walk took the event loop for 50-100 ms
 * in one go (the Raft core checked the same bytes just before, synchronously: it has to).
 */
async function snapshotProblemStepped(
  data: SnapshotBytes,
  expected: { index: number; term: number },
): Promise<string | null> {
  const total = data.byteLength;
  const scan = new SnapshotScan(total, expected);
  // One window for every step: the scan keeps no view of it.
  const window = Buffer.allocUnsafe(Math.min(total, SNAPSHOT_SCAN_STEP_BYTES));
  for (let at = 0; at < total; at += SNAPSHOT_SCAN_STEP_BYTES) {
    if (at > 0) await nextTurn();
    scan.update(readWindow(data, at, Math.min(total, at + SNAPSHOT_SCAN_STEP_BYTES), window));
  }
  return scan.problem();
}

/** Lets the event loop run (timers, sockets) before going on. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function copyConfState(state: ConfState): ConfState {
  return { voters: [...state.voters], learners: [...state.learners] };
}
