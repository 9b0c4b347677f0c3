import type { Entry, Message } from "@dlock/raft";
import type { LockRecordChange } from "../storage/host-storage.js";

/**
 * How Raft messages leave and reach this node. The TCP peer transport implements it in
 * production; tests connect hosts in memory. send() never blocks and may drop (Raft retries).
 */
export interface PeerTransport {
  send(messages: readonly Message[]): void;
  /** Registers the handler for incoming messages; returns a function that unregisters it. */
  onMessage(handler: (message: Message) => void): () => void;
}

/**
 * The replicated state machine as the host drives it. Deterministic: same entries, same results.
 * Its changes reach the disk through takeChanges(), in the same batch as the Raft log.
 */
export interface StateMachine<Result> {
  /** Applies committed entries in order (every kind); one result per entry, undefined for non-data. */
  apply(entries: readonly Entry[]): Array<Result | undefined>;
  /** Index of the last applied entry. */
  appliedIndex(): number;
  /** Records changed since the last call (null deletes), consistent with appliedIndex(). */
  takeChanges(): LockRecordChange[];
  /**
   * How many records takeChanges() would return now. Optional: without it the host never holds
   * applies back for a batch to take them (RaftHostOptions.stateChangesPerBatchMax).
   */
  changesPending?(): number;
  /** Rebuilds an empty state machine from the records stored with `appliedIndex`. */
  load(appliedIndex: number, records: ReadonlyArray<readonly [string, Uint8Array]>): void;
  /**
   * Like load(), from the stored records' values read in pieces (HostStorage.lockRecordChunks):
   * each piece is decoded before the next is read. Optional: load() otherwise.
   */
  loadChunks?(appliedIndex: number, chunks: AsyncIterable<Uint8Array[]>): Promise<void>;
  /**
   * Replaces the whole state by the records of a snapshot taken at `appliedIndex` (installed from
   * the leader; the storage already holds the same records). Pending changes are dropped.
   */
  restore(appliedIndex: number, records: ReadonlyArray<readonly [string, Uint8Array]>): void;
  /**
   * restore() in two parts: decode a snapshot's records (values, in pieces) into a new state
   * beside the current one, then swap it in at once with install(). Optional: restore() otherwise.
   * `recordsExpected` is how many records the snapshot holds (0 if unknown), to size for at once.
   */
  prepareRestore?(
    appliedIndex: number,
    chunks: AsyncIterable<Uint8Array[]>,
    recordsExpected: number,
  ): Promise<{ install(): void; records: number }>;
}
