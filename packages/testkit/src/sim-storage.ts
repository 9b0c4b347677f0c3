import type { ConfState, Entry, HardState, Snapshot, Storage } from "@dlock/raft";
import { CompactedError, UnavailableError } from "@dlock/raft";
import { CHAIN_ORIGIN, chainAfter } from "./log-chain.js";
import type { ChainedEntry } from "./log-chain.js";
import type { Prng } from "./prng.js";

/** What one copy of a node's disk holds. */
interface DiskImage {
  snapshot: Snapshot;
  /** Chain value at snapshot.metadata.index. */
  snapshotChain: number;
  /** Entries after the snapshot, in index order. */
  log: ChainedEntry[];
  hardState: HardState;
}

/** One write the host issued, in the order of the Ready contract. */
type StorageOp =
  | { kind: "snapshot"; snapshot: Snapshot; chain: number }
  | { kind: "entries"; entries: ChainedEntry[] }
  | { kind: "hardState"; hardState: HardState };

/** A host misuse of the storage (a gap in the log, compaction past what is durable, ...). */
export class SimStorageError extends Error {
  readonly code = "SIM_STORAGE";
  constructor(message: string) {
    super(message);
    this.name = "SimStorageError";
  }
}

export interface CrashLoss {
  /** Writes that had not been synced when the node crashed. */
  unsyncedWrites: number;
  /** How many of them survived anyway (the OS had flushed them), the last one possibly torn. */
  survivedWrites: number;
  torn: boolean;
}

/**
 * Simulated storage of one node. Writes land at once in the "memory" image that the Raft core
 * reads (the page cache), and in the "durable" image only when synced. A crash keeps the durable
 * image plus, sometimes, a prefix of the unsynced writes (possibly torn inside a batch of
 * entries), exactly like a write-ahead log that is replayed up to its first bad record.
 *
 * Every entry carries its chain hash (see log-chain.ts) so checkers compare logs in O(1).
 */
export class SimStorage implements Storage {
  private memory: DiskImage;
  private durable: DiskImage;
  private pending: { sequence: number; op: StorageOp }[] = [];
  private nextSequence = 1;

  /** A fresh disk; `confState` is the bootstrap membership (empty for a node that will join). */
  constructor(confState: ConfState) {
    const snapshot: Snapshot = {
      metadata: {
        index: 0,
        term: 0,
        confState: { voters: confState.voters.slice(), learners: confState.learners.slice() },
      },
      data: new Uint8Array(0),
    };
    this.durable = {
      snapshot,
      snapshotChain: CHAIN_ORIGIN,
      log: [],
      hardState: { term: 0, vote: null, commit: 0 },
    };
    this.memory = cloneImage(this.durable);
  }

  // ---- Storage (what the core reads: the memory image) ----------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    const conf = this.memory.snapshot.metadata.confState;
    return {
      hardState: { ...this.memory.hardState },
      confState: { voters: conf.voters.slice(), learners: conf.learners.slice() },
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const image = this.memory;
    const snapshotIndex = image.snapshot.metadata.index;
    const last = snapshotIndex + image.log.length;
    if (lo <= snapshotIndex) throw new CompactedError(lo, snapshotIndex + 1);
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = image.log[index - snapshotIndex - 1].entry;
      bytes += entry.data.length;
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  term(index: number): number {
    const image = this.memory;
    const snapshotIndex = image.snapshot.metadata.index;
    if (index === snapshotIndex) return image.snapshot.metadata.term;
    if (index < snapshotIndex) throw new CompactedError(index, snapshotIndex + 1);
    if (index > snapshotIndex + image.log.length) {
      throw new UnavailableError(index, snapshotIndex + image.log.length);
    }
    return image.log[index - snapshotIndex - 1].entry.term;
  }

  firstIndex(): number {
    return this.memory.snapshot.metadata.index + 1;
  }

  lastIndex(): number {
    return this.memory.snapshot.metadata.index + this.memory.log.length;
  }

  snapshot(): Snapshot {
    return this.memory.snapshot;
  }

  // ---- Views for the host and the checkers ----------------------------------------------------

  /**
   * Chain hash at `index` in the memory (default) or durable image: the snapshot's chain at the
   * snapshot index, undefined below it (compacted) or past the last entry.
   */
  chainAt(index: number, image: "memory" | "durable" = "memory"): number | undefined {
    const disk = image === "memory" ? this.memory : this.durable;
    const snapshotIndex = disk.snapshot.metadata.index;
    if (index === snapshotIndex) return disk.snapshotChain;
    if (index < snapshotIndex || index > snapshotIndex + disk.log.length) return undefined;
    return disk.log[index - snapshotIndex - 1].chain;
  }

  snapshotIndexOf(image: "memory" | "durable" = "memory"): number {
    return (image === "memory" ? this.memory : this.durable).snapshot.metadata.index;
  }

  lastIndexOf(image: "memory" | "durable" = "memory"): number {
    const disk = image === "memory" ? this.memory : this.durable;
    return disk.snapshot.metadata.index + disk.log.length;
  }

  durableSnapshot(): Snapshot {
    return this.durable.snapshot;
  }

  durableHardState(): HardState {
    return { ...this.durable.hardState };
  }

  /** Number of writes not yet synced. */
  get unsyncedWrites(): number {
    return this.pending.length;
  }

  // ---- Writes (the host, following a Ready) ---------------------------------------------------

  /** Install a snapshot received from the leader; `chain` is the chain value at its index. */
  writeSnapshot(snapshot: Snapshot, chain: number): number {
    return this.write({ kind: "snapshot", snapshot, chain });
  }

  /**
   * Append entries, replacing the stored suffix from entries[0].index on. Returns the entries as
   * stored with their chain hashes (entries already covered by the snapshot are skipped).
   */
  writeEntries(entries: readonly Entry[]): ChainedEntry[] {
    if (entries.length === 0) return [];
    const image = this.memory;
    const snapshotIndex = image.snapshot.metadata.index;
    let from = 0;
    while (from < entries.length && entries[from].index <= snapshotIndex) from++;
    if (from === entries.length) return [];
    const first = entries[from].index;
    const last = snapshotIndex + image.log.length;
    if (first > last + 1) {
      throw new SimStorageError(`append at ${first} leaves a gap after the last index ${last}`);
    }
    let previous = this.chainAt(first - 1) as number;
    const chained: ChainedEntry[] = [];
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.index !== first + (i - from)) {
        throw new SimStorageError(`entries are not contiguous at index ${entry.index}`);
      }
      previous = chainAfter(previous, entry);
      chained.push({ entry, chain: previous });
    }
    this.write({ kind: "entries", entries: chained });
    return chained;
  }

  writeHardState(hardState: HardState): number {
    return this.write({ kind: "hardState", hardState: { ...hardState } });
  }

  /** Sequence number of the last write issued (0 before any). */
  get lastWriteSequence(): number {
    return this.nextSequence - 1;
  }

  /** fsync completed for every write up to `sequence`. */
  syncThrough(sequence: number): void {
    let count = 0;
    while (count < this.pending.length && this.pending[count].sequence <= sequence) {
      applyOp(this.durable, this.pending[count].op, Infinity);
      count++;
    }
    if (count > 0) this.pending.splice(0, count);
  }

  /**
   * The host snapshotted its state machine at applied index `snapshot.metadata.index` and drops
   * the log up to it. Written synchronously (durable at once), like a snapshot file that is
   * fsynced and renamed before the log is truncated. The index must be durable already.
   */
  compact(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    for (const image of [this.durable, this.memory]) {
      const snapshotIndex = image.snapshot.metadata.index;
      if (index <= snapshotIndex) return;
      if (index > snapshotIndex + image.log.length) {
        throw new SimStorageError(`compaction to ${index} passes the stored log`);
      }
    }
    for (const image of [this.durable, this.memory]) {
      const offset = index - image.snapshot.metadata.index;
      const atIndex = image.log[offset - 1];
      if (atIndex.entry.term !== snapshot.metadata.term) {
        throw new SimStorageError(`compaction to ${index}: term differs from the stored entry`);
      }
      image.snapshot = snapshot;
      image.snapshotChain = atIndex.chain;
      image.log = image.log.slice(offset);
    }
  }

  /**
   * The process died. Unsynced writes are lost, except that with probability `tornRate` a prefix
   * of them survives, the last surviving batch of entries possibly cut in the middle.
   */
  crash(random: Prng, tornRate: number): CrashLoss {
    const unsyncedWrites = this.pending.length;
    let survivedWrites = 0;
    let torn = false;
    if (unsyncedWrites > 0 && random.chance(tornRate)) {
      survivedWrites = random.int(1, unsyncedWrites);
      for (let i = 0; i < survivedWrites; i++) {
        const op = this.pending[i].op;
        let limit = Infinity;
        if (i === survivedWrites - 1 && op.kind === "entries" && op.entries.length > 1) {
          limit = random.int(1, op.entries.length);
          torn = limit < op.entries.length;
        }
        applyOp(this.durable, op, limit);
      }
    }
    this.pending = [];
    this.memory = cloneImage(this.durable);
    return { unsyncedWrites, survivedWrites, torn };
  }

  private write(op: StorageOp): number {
    applyOp(this.memory, op, Infinity);
    const sequence = this.nextSequence++;
    this.pending.push({ sequence, op });
    return sequence;
  }
}

/** Applies one write to an image; `entryLimit` keeps only a prefix of an entries batch. */
function applyOp(image: DiskImage, op: StorageOp, entryLimit: number): void {
  switch (op.kind) {
    case "snapshot": {
      if (op.snapshot.metadata.index <= image.snapshot.metadata.index) return;
      image.snapshot = op.snapshot;
      image.snapshotChain = op.chain;
      image.log = [];
      return;
    }
    case "entries": {
      const snapshotIndex = image.snapshot.metadata.index;
      const count = Math.min(entryLimit, op.entries.length);
      for (let i = 0; i < count; i++) {
        const chained = op.entries[i];
        const index = chained.entry.index;
        if (index <= snapshotIndex) continue;
        const position = index - snapshotIndex - 1;
        if (position > image.log.length) return; // a gap can only follow a lost write: stop
        image.log.length = position;
        image.log.push(chained);
      }
      return;
    }
    case "hardState":
      image.hardState = op.hardState;
      return;
  }
}

function cloneImage(image: DiskImage): DiskImage {
  return {
    snapshot: image.snapshot,
    snapshotChain: image.snapshotChain,
    log: image.log.slice(),
    hardState: { ...image.hardState },
  };
}
