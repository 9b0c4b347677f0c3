import type {
  Entry,
  HardState,
  Snapshot,
  SnapshotBytes,
  SnapshotCheck,
  SnapshotMetadata,
  SnapshotStaging,
  Storage,
} from "@dlock/raft";
import type { ClusterMembers } from "./members-record.js";
import type { StagingEvents } from "./snapshot-staging.js";

/** A state-machine record change: bytes to store under the key, or null to delete it. */
export type LockRecordChange = readonly [key: string, record: Uint8Array | null];

/**
 * One unit of work for the storage. Several are written in ONE atomic batch (group commit), in
 * order, so a later write's records override an earlier one's.
 */
export interface StorageWrite {
  /**
   * A snapshot received from the leader. It replaces the whole log (which restarts after it) AND
   * the stored state: lock table, members and applied index become the snapshot's, all or
   * nothing (LevelStorage writes the table in batches under a marker that an open finishes).
   * Its bytes are what the storage's snapshotStaging() gave the core (a Uint8Array without one).
   */
  snapshot?: Snapshot<SnapshotBytes>;
  /** Log entries; may overwrite a suffix of the log starting at entries[0].index. */
  entries?: readonly Entry[];
  hardState?: HardState;
  /** State-machine changes of applied entries, written with `appliedIndex`. */
  lockRecords?: readonly LockRecordChange[];
  /** The members as of `appliedIndex`, when applied config entries changed them. */
  members?: ClusterMembers;
  /** Highest log index whose effects `lockRecords` (and earlier writes) contain. */
  appliedIndex?: number;
  /** This write must be on disk before the returned promise resolves. */
  mustSync?: boolean;
}

export interface StorageStats {
  /** Batches written. */
  batches: number;
  /** Batches written with sync (fsync). */
  syncedBatches: number;
  /** Log entries written. */
  entriesWritten: number;
  /** Snapshots this node took of its own state (compactions). */
  snapshotsTaken: number;
  /** Snapshots received from a leader and installed. */
  snapshotsInstalled: number;
}

/** Counters of a store that has written nothing yet. */
export function zeroStorageStats(): StorageStats {
  return {
    batches: 0,
    syncedBatches: 0,
    entriesWritten: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
  };
}

/** What a snapshot's bytes hold, decoded by the storage that defines their format. */
export interface SnapshotContents {
  /** The state machine's records, in key order. */
  records: Array<[string, Uint8Array]>;
  /** The members record, if the snapshot holds one. */
  members: ClusterMembers | null;
}

/**
 * The durable side of a RaftHost: the raft core's synchronous Storage view plus what the host
 * writes and reads around it. LevelStorage implements it in production, a simulated store in the
 * simulator. Every change goes through write() (ordered, each call one atomic batch) or
 * createSnapshot(); reads see only what a write finished.
 */
export interface HostStorage extends Storage {
  readonly stats: StorageStats;
  /** Writes `writes` in order as one atomic batch, synced if any asks for it. */
  write(writes: readonly StorageWrite[]): Promise<void>;
  /** Highest applied index whose state-machine effects are stored. */
  appliedIndex(): number;
  /** The members as of appliedIndex(). */
  appliedMembers(): ClusterMembers;
  /** Every stored state-machine record, in key order (loads the state machine at start). */
  readLockRecords(): Promise<Array<[string, Uint8Array]>>;
  /**
   * The stored state-machine records (values only) in pieces read one after another, so that a
   * large table loads without holding all of it twice. Optional: readLockRecords() otherwise.
   */
  lockRecordChunks?(): AsyncIterable<Uint8Array[]>;
  /**
   * Snapshots the stored state at appliedIndex() and drops the log up to it; null when there is
   * nothing to compact or a compaction already runs.
   */
  createSnapshot(): Promise<SnapshotMetadata | null>;
  /** Entries in the log above the snapshot. */
  logEntries(): number;
  /** Stored bytes of the log above the snapshot. */
  logBytes(): number;
  /** Why a snapshot from the leader cannot be installed (torn, wrong index), or null. */
  snapshotProblem(snapshot: Snapshot): string | null;
  /** snapshotProblem() made as a snapshot's bytes arrive (the core feeds it each chunk). */
  snapshotCheck?(metadata: SnapshotMetadata, totalBytes: number): SnapshotCheck;
  /** The records and members in a snapshot's bytes (which snapshotProblem accepted). */
  snapshotContents(data: Uint8Array): SnapshotContents;
  /**
   * A snapshot's lock records (values only) in pieces, yielding the event loop between pieces,
   * and its members (to `onMembers`, on the way): what a stepped install decodes. Optional:
   * snapshotContents() otherwise.
   */
  snapshotLockRecordChunks?(
    data: SnapshotBytes,
    onMembers?: (members: ClusterMembers) => void,
  ): AsyncIterable<Uint8Array[]>;
  snapshotMembers?(data: Uint8Array): ClusterMembers | null;
  /** How many records a snapshot's bytes hold (which snapshotProblem accepted), all kinds. */
  snapshotRecordCount?(data: SnapshotBytes): number;
  /**
   * Where the core puts a leader's snapshot as it arrives (RaftConfig.snapshotStaging). Optional:
   * the core's buffer otherwise, and the bytes are a Uint8Array. `events` tell the host when a
   * staging that was backlogged (SnapshotStaging.backlogged) has written what it held, and when
   * its writes fail (they are tried again until they succeed) and work again.
   */
  snapshotStaging?(
    metadata: SnapshotMetadata,
    totalBytes: number,
    events?: StagingEvents,
  ): SnapshotStaging<SnapshotBytes>;
  /** Resolves once staged bytes can be read (all written); rejects if staging them failed. */
  snapshotBytesWritten?(data: SnapshotBytes): Promise<void>;
  /** Staged bytes are no longer needed: the snapshot is installed (or never will be). */
  releaseSnapshotBytes?(data: SnapshotBytes): void;
  close(): Promise<void>;
}
