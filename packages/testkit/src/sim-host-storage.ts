import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata, Storage } from "@dlock/raft";
import { CompactedError, UnavailableError, entryBytes } from "@dlock/raft";
import type {
  ClusterMembers,
  HostStorage,
  SnapshotContents,
  StorageStats,
  StorageWrite,
} from "@dlock/server/internal";
import { StorageError, confStateOf, copyMembers, wholeSnapshot } from "@dlock/server/internal";
import { Hasher } from "./hash.js";
import type { Prng } from "./prng.js";

/** What one copy of a node's data folder holds (the page cache's view, or what is on disk). */
interface DiskImage {
  snapshot: Snapshot;
  /** Entries after the snapshot, in index order. */
  log: Entry[];
  /** Stored bytes of `log`. */
  logBytes: number;
  hardState: HardState;
  /** The state machine's records. */
  records: Map<string, Uint8Array>;
  members: ClusterMembers;
  applied: number;
}

/** One atomic batch, as it sits in the write-ahead log until an fsync covers it. */
type DiskOp =
  { kind: "writes"; writes: readonly StorageWrite[] } | { kind: "compact"; snapshot: Snapshot };

/** How the simulated disk waits: the node's own timers, and fsync latencies from the world. */
export interface SimDiskTiming {
  /** Runs `callback` after `delayMs` of the node's time (0: a later event at the same instant). */
  after(callback: () => void, delayMs: number): void;
  /** How long the next fsync takes. */
  fsyncDelayMs(): number;
}

export interface SimCrashLoss {
  /** Batches not synced when the process died. */
  unsyncedWrites: number;
  /** How many of them reached the disk anyway (the OS flushed them): always a prefix. */
  survivedWrites: number;
}

/** Stored bytes of one entry beyond its payload (LevelStorage's key and encoding, roughly). */
const ENTRY_OVERHEAD_BYTES = 24;
const SNAPSHOT_MAGIC = 0x53_4e_41_50; // "SNAP"
const RESOLVED: Promise<void> = Promise.resolve();
const NO_ENTRIES: readonly Entry[] = [];

/**
 * A node's data folder in the simulator, shaped like LevelDB under LevelStorage: every batch is
 * atomic and reaches the page cache (what reads see) at once, and the disk only when an fsync
 * covers it; an fsync (a batch that asks for one, or a compaction) takes a simulated time and
 * makes every batch before it durable too. The disk outlives processes: crash() keeps what was
 * synced plus, sometimes, a prefix of the rest (LevelDB replays its log up to the first torn
 * record; a batch is never half there), and open() starts the next incarnation from that.
 */
export class SimDisk {
  private durable: DiskImage;
  private pending: DiskOp[] = [];
  private generation = 0;
  private unsyncedWatchers: { batches: number; callback: () => void }[] = [];

  constructor(initialMembers: ClusterMembers) {
    const members = copyMembers(initialMembers);
    this.durable = {
      snapshot: {
        metadata: { index: 0, term: 0, confState: confStateOf(members) },
        data: new Uint8Array(0),
      },
      log: [],
      logBytes: 0,
      hardState: { term: 0, vote: null, commit: 0 },
      records: new Map(),
      members,
      applied: 0,
    };
  }

  /** Batches written and not yet covered by an fsync. */
  get unsyncedWrites(): number {
    return this.pending.length;
  }

  /** The next process incarnation's storage, over what is on disk now. */
  open(timing: SimDiskTiming): SimHostStorage {
    this.generation++;
    return new SimHostStorage(this, this.generation, cloneImage(this.durable), timing);
  }

  /**
   * The process (or machine) died: unsynced batches are lost, except that with probability
   * `tornRate` a prefix of them survives. The storage opened before is dead from now on.
   */
  crash(random: Prng, tornRate: number): SimCrashLoss {
    this.generation++;
    const unsyncedWrites = this.pending.length;
    let survivedWrites = 0;
    if (unsyncedWrites > 0 && random.chance(tornRate)) {
      survivedWrites = random.int(1, unsyncedWrites);
      for (const op of this.pending.slice(0, survivedWrites)) applyOp(this.durable, op);
    }
    this.pending = [];
    return { unsyncedWrites, survivedWrites };
  }

  /** A clean stop: the storage was closed, so everything it wrote is on disk. */
  closed(generation: number): void {
    if (generation !== this.generation) return;
    this.sync(generation);
  }

  /**
   * Calls `callback` once, from inside the write that leaves `batches` or more batches unsynced
   * (not at once if they already are): the caller defers whatever touches the process. Returns
   * the function that cancels the wait.
   */
  whenUnsynced(batches: number, callback: () => void): () => void {
    const watcher = { batches, callback };
    this.unsyncedWatchers.push(watcher);
    return () => {
      this.unsyncedWatchers = this.unsyncedWatchers.filter((other) => other !== watcher);
    };
  }

  private notifyUnsynced(): void {
    const unsynced = this.pending.length;
    const due = this.unsyncedWatchers.filter((watcher) => watcher.batches <= unsynced);
    if (due.length === 0) return;
    this.unsyncedWatchers = this.unsyncedWatchers.filter((watcher) => watcher.batches > unsynced);
    for (const watcher of due) watcher.callback();
  }

  /** Called after every fsync (what a crash keeps changed). */
  onSync: (() => void) | null = null;

  /** Read-only views of the disk for checkers. */
  durableLastIndex(): number {
    return this.durable.snapshot.metadata.index + this.durable.log.length;
  }

  durableSnapshotIndex(): number {
    return this.durable.snapshot.metadata.index;
  }

  /** Term of the durable entry at `index` (the snapshot's at its index), undefined elsewhere. */
  durableTermAt(index: number): number | undefined {
    const { metadata } = this.durable.snapshot;
    if (index === metadata.index) return metadata.term;
    if (index < metadata.index) return undefined;
    return this.durable.log[index - metadata.index - 1]?.term;
  }

  durableHardState(): HardState {
    return { ...this.durable.hardState };
  }

  // ---- used by SimHostStorage ------------------------------------------------------------------

  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }

  logOp(generation: number, op: DiskOp): void {
    if (generation !== this.generation) return;
    this.pending.push(op);
    if (this.unsyncedWatchers.length > 0) this.notifyUnsynced();
  }

  sync(generation: number): void {
    if (generation !== this.generation) return;
    for (const op of this.pending) applyOp(this.durable, op);
    this.pending = [];
    this.onSync?.();
  }
}

/** LevelStorage's contract over a SimDisk: one instance per process incarnation. */
export class SimHostStorage implements HostStorage, Storage {
  readonly stats: StorageStats = {
    batches: 0,
    syncedBatches: 0,
    entriesWritten: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
  };
  private queue: Promise<unknown> = RESOLVED;
  /** Operations not settled yet (a write with none ahead of it need not wait its turn). */
  private queued = 0;
  private snapshotting = false;
  private isClosed = false;

  constructor(
    private readonly disk: SimDisk,
    private readonly generation: number,
    /** The page cache: what reads see. */
    private readonly memory: DiskImage,
    private readonly timing: SimDiskTiming,
  ) {}

  // ---- Storage (the core's synchronous view) ---------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    const conf = this.memory.snapshot.metadata.confState;
    return {
      hardState: { ...this.memory.hardState },
      confState: { voters: conf.voters.slice(), learners: conf.learners.slice() },
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
      const entry = this.memory.log[index - first]!; // first <= index <= last, checked above
      bytes += entryBytes(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  term(index: number): number {
    const { metadata } = this.memory.snapshot;
    if (index === metadata.index) return metadata.term;
    if (index < metadata.index) throw new CompactedError(index, metadata.index + 1);
    const last = this.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    return this.memory.log[index - metadata.index - 1]!.term; // snapshot < index <= last
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

  // ---- HostStorage -----------------------------------------------------------------------------

  appliedIndex(): number {
    return this.memory.applied;
  }

  appliedMembers(): ClusterMembers {
    return copyMembers(this.memory.members);
  }

  readLockRecords(): Promise<Array<[string, Uint8Array]>> {
    return Promise.resolve(sortedRecords(this.memory.records));
  }

  logEntries(): number {
    return this.memory.log.length;
  }

  logBytes(): number {
    return this.memory.logBytes;
  }

  write(writes: readonly StorageWrite[]): Promise<void> {
    if (this.queued > 0) return this.serialize(() => this.writeNow(writes));
    return this.writeNow(writes);
  }

  /**
   * An unsynced batch is in the page cache at once (no later event, no promise to wait for); a
   * synced one once its fsync finished. Nothing may be ahead of it in the queue.
   */
  private writeNow(writes: readonly StorageWrite[]): Promise<void> {
    try {
      this.checkOpen();
      checkWrites(this.memory, writes);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.disk.logOp(this.generation, { kind: "writes", writes });
    if (!mustSync(writes)) {
      this.written(writes, false);
      return RESOLVED;
    }
    return this.track(
      this.fsync().then(() => {
        this.written(writes, true);
      }),
    );
  }

  private written(writes: readonly StorageWrite[], sync: boolean): void {
    applyWrites(this.memory, writes);
    this.stats.batches++;
    if (sync) this.stats.syncedBatches++;
    for (const write of writes) {
      this.stats.entriesWritten += write.entries?.length ?? 0;
      if (write.snapshot !== undefined) this.stats.snapshotsInstalled++;
    }
  }

  createSnapshot(): Promise<SnapshotMetadata | null> {
    if (this.snapshotting) return Promise.resolve(null);
    this.snapshotting = true;
    return this.serialize(async () => {
      try {
        this.checkOpen();
        const index = this.memory.applied;
        if (index <= this.memory.snapshot.metadata.index) return null;
        const term = this.term(index);
        const snapshot: Snapshot = {
          metadata: { index, term, confState: confStateOf(this.memory.members) },
          data: encodeSimSnapshot(index, term, this.memory.records, this.memory.members),
        };
        this.disk.logOp(this.generation, { kind: "compact", snapshot });
        await this.fsync();
        applyOp(this.memory, { kind: "compact", snapshot });
        this.stats.snapshotsTaken++;
        return snapshot.metadata;
      } finally {
        this.snapshotting = false;
      }
    });
  }

  snapshotProblem(snapshot: Snapshot): string | null {
    return simSnapshotProblem(snapshot.data, snapshot.metadata);
  }

  snapshotContents(data: Uint8Array): SnapshotContents {
    return decodeSimSnapshot(data);
  }

  close(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    this.isClosed = true;
    return this.queue.then(
      () => this.disk.closed(this.generation),
      () => this.disk.closed(this.generation),
    );
  }

  private checkOpen(): void {
    if (this.isClosed) throw new StorageError("CLOSED", "storage is closed");
  }

  /** Resolves once an fsync of everything written so far finished. */
  private fsync(): Promise<void> {
    return new Promise<void>((resolve) => {
      // A dead incarnation's writes never finish: the process that waits for them is gone.
      const done = (): void => {
        if (!this.disk.isCurrent(this.generation)) return;
        this.disk.sync(this.generation);
        resolve();
      };
      this.timing.after(done, this.timing.fsyncDelayMs());
    });
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    return this.track(this.queue.then(task, task));
  }

  /** Operations after `run` wait for it to settle. */
  private track<T>(run: Promise<T>): Promise<T> {
    this.queued++;
    const settled = (): void => {
      this.queued--;
    };
    this.queue = run.then(settled, settled);
    return run;
  }
}

function mustSync(writes: readonly StorageWrite[]): boolean {
  for (const write of writes) if (write.mustSync === true) return true;
  return false;
}

function cloneImage(image: DiskImage): DiskImage {
  return {
    snapshot: image.snapshot,
    log: image.log.slice(),
    logBytes: image.logBytes,
    hardState: { ...image.hardState },
    records: new Map(image.records),
    members: copyMembers(image.members),
    applied: image.applied,
  };
}

function storedBytes(entry: Entry): number {
  return ENTRY_OVERHEAD_BYTES + entryBytes(entry);
}

/** LevelStorage's checks of a batch, against the image it would be applied to. */
function checkWrites(image: DiskImage, writes: readonly StorageWrite[]): void {
  let snapshotIndex = image.snapshot.metadata.index;
  let lastIndex = snapshotIndex + image.log.length;
  let applied = image.applied;
  for (const write of writes) {
    if (write.snapshot !== undefined) {
      // Without a staging of its own, the bytes the core gives are a buffer (already whole).
      const { metadata, data } = wholeSnapshot(write.snapshot);
      if (metadata.index <= applied) {
        throw new StorageError(
          "INVALID_WRITE",
          `snapshot at ${metadata.index} is not past the applied index ${applied}`,
        );
      }
      const problem = simSnapshotProblem(data, metadata);
      if (problem !== null) throw new StorageError("INVALID_WRITE", `snapshot: ${problem}`);
      snapshotIndex = metadata.index;
      lastIndex = metadata.index;
      applied = metadata.index;
    }
    const entries = write.entries ?? NO_ENTRIES;
    const [firstEntry] = entries;
    if (firstEntry !== undefined) {
      const first = firstEntry.index;
      if (first <= snapshotIndex || first > lastIndex + 1) {
        throw new StorageError(
          "INVALID_WRITE",
          `entries start at ${first}; the log holds ${snapshotIndex + 1}..${lastIndex}`,
        );
      }
      let expected = first;
      for (const entry of entries) {
        if (entry.index !== expected++) {
          throw new StorageError("INVALID_WRITE", `entries are not contiguous at ${entry.index}`);
        }
      }
      lastIndex = first + entries.length - 1;
    }
    if (write.appliedIndex !== undefined) {
      if (write.appliedIndex < applied) {
        throw new StorageError(
          "INVALID_WRITE",
          `applied index would go back from ${applied} to ${write.appliedIndex}`,
        );
      }
      applied = write.appliedIndex;
    }
  }
}

function applyOp(image: DiskImage, op: DiskOp): void {
  if (op.kind === "writes") {
    applyWrites(image, op.writes);
    return;
  }
  const { index } = op.snapshot.metadata;
  const snapshotIndex = image.snapshot.metadata.index;
  if (index <= snapshotIndex) return;
  const dropped = index - snapshotIndex;
  for (const entry of image.log.slice(0, dropped)) image.logBytes -= storedBytes(entry);
  image.log = image.log.slice(dropped);
  image.snapshot = op.snapshot;
}

/** Applies a checked batch, in LevelStorage's order within each write. */
function applyWrites(image: DiskImage, writes: readonly StorageWrite[]): void {
  for (const write of writes) {
    if (write.snapshot !== undefined) {
      const snapshot = wholeSnapshot(write.snapshot);
      const { records, members } = decodeSimSnapshot(snapshot.data);
      image.snapshot = snapshot;
      image.log = [];
      image.logBytes = 0;
      image.records = new Map(records);
      if (members !== null) image.members = members;
      image.applied = write.snapshot.metadata.index;
    }
    const entries = write.entries ?? NO_ENTRIES;
    const [firstEntry] = entries;
    if (firstEntry !== undefined) {
      // checkWrites let entries start inside the log or right after it: what they overwrite goes.
      const offset = firstEntry.index - image.snapshot.metadata.index - 1;
      // (Usually they append: no splice, no empty array per write.)
      if (offset < image.log.length) {
        for (const entry of image.log.splice(offset)) image.logBytes -= storedBytes(entry);
      }
      for (const entry of entries) {
        image.log.push(entry);
        image.logBytes += storedBytes(entry);
      }
    }
    if (write.hardState !== undefined) image.hardState = { ...write.hardState };
    if (write.lockRecords !== undefined) {
      for (const [key, record] of write.lockRecords) {
        if (record === null) image.records.delete(key);
        else image.records.set(key, record);
      }
    }
    if (write.members !== undefined) image.members = copyMembers(write.members);
    if (write.appliedIndex !== undefined) image.applied = write.appliedIndex;
  }
}

function sortedRecords(records: Map<string, Uint8Array>): Array<[string, Uint8Array]> {
  return [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- the simulated store's snapshot bytes ------------------------------------------------------
// magic u32 | index f64 | term f64 | members length u32 | members JSON | record count u32 |
// (key length u32 | key UTF-8 | value length u32 | value)* | hash of all before (2 × u32)

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodeSimSnapshot(
  index: number,
  term: number,
  records: Map<string, Uint8Array>,
  members: ClusterMembers,
): Uint8Array {
  const encoded = sortedRecords(records).map(
    ([key, value]) => [textEncoder.encode(key), value] as const,
  );
  const membersBytes = textEncoder.encode(JSON.stringify(members));
  let size = 4 + 8 + 8 + 4 + membersBytes.length + 4 + 8;
  for (const [key, value] of encoded) size += 8 + key.length + value.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint32(at, SNAPSHOT_MAGIC);
  view.setFloat64((at += 4), index);
  view.setFloat64((at += 8), term);
  view.setUint32((at += 8), membersBytes.length);
  out.set(membersBytes, (at += 4));
  view.setUint32((at += membersBytes.length), encoded.length);
  at += 4;
  for (const [key, value] of encoded) {
    view.setUint32(at, key.length);
    out.set(key, (at += 4));
    view.setUint32((at += key.length), value.length);
    out.set(value, (at += 4));
    at += value.length;
  }
  const hash = new Hasher(SNAPSHOT_MAGIC).bytes(out.subarray(0, at)).digest();
  view.setUint32(at, Math.floor(hash / 0x1_0000_0000));
  view.setUint32(at + 4, hash >>> 0);
  return out;
}

function readHeader(data: Uint8Array): { index: number; term: number } | string {
  if (data.length < 36) return `${data.length} bytes are too short for a snapshot`;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(0) !== SNAPSHOT_MAGIC) return "not a simulated snapshot";
  const body = data.subarray(0, data.length - 8);
  const hash = new Hasher(SNAPSHOT_MAGIC).bytes(body).digest();
  const stored = view.getUint32(data.length - 8) * 0x1_0000_0000 + view.getUint32(data.length - 4);
  if (hash !== stored) return "checksum mismatch (torn or corrupted)";
  return { index: view.getFloat64(4), term: view.getFloat64(12) };
}

export function simSnapshotProblem(
  data: Uint8Array,
  metadata: { index: number; term: number },
): string | null {
  const header = readHeader(data);
  if (typeof header === "string") return header;
  if (header.index !== metadata.index || header.term !== metadata.term) {
    return `holds ${header.index}/${header.term}, metadata says ${metadata.index}/${metadata.term}`;
  }
  return null;
}

export function decodeSimSnapshot(data: Uint8Array): SnapshotContents {
  if (data.length === 0) return { records: [], members: null };
  const header = readHeader(data);
  if (typeof header === "string") throw new StorageError("INVALID_WRITE", header);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 20;
  const membersLength = view.getUint32(at);
  at += 4;
  const members = JSON.parse(
    textDecoder.decode(data.subarray(at, at + membersLength)),
  ) as ClusterMembers;
  at += membersLength;
  const count = view.getUint32(at);
  at += 4;
  const records: Array<[string, Uint8Array]> = [];
  for (let i = 0; i < count; i++) {
    const keyLength = view.getUint32(at);
    const key = textDecoder.decode(data.subarray(at + 4, at + 4 + keyLength));
    at += 4 + keyLength;
    const valueLength = view.getUint32(at);
    records.push([key, data.slice(at + 4, at + 4 + valueLength)]);
    at += 4 + valueLength;
  }
  return { records, members };
}
