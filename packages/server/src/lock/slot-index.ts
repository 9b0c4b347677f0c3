/** Shards by default: a million keys are 64 tables of some 16k. */
export const SHARD_BITS_DEFAULT = 6;
/** Cells of a shard's table when its first key arrives; it doubles when 3/4 full. */
const SHARD_CELLS_FIRST = 16;

/** One shard: open addressing with linear probing, slot + 1 per cell (0 = empty). */
interface Shard {
  cells: Int32Array;
  /** The full hash of each cell's key: growth and deletion never read a key again. */
  hashes: Int32Array;
  count: number;
}

/**
 * A hash index from string keys to the slots of a table that stores each slot's key itself
 * (KeyTable's keys, the holder interner's values, the leader's lease timers): it holds only
 * numbers, in typed arrays, and asks `holdsKey` to compare a key. A Map from the same strings cost
 * some 50 bytes per key in the heap, which every full GC walks; this is 11 to 21, outside it (a
 * cell is 8 bytes; tables run 3/8 to 3/4 full: linear probing with each cell's full hash stays a
 * probe or two per lookup there, and at most half full cost a million keys ~7 MiB more per index).
 *
 * Sharded, so that a growth step re-places one shard's numbers, never a million (one Map of a
 * million keys rehashing all of them was a second-long stall on every node at once). Shards of
 * equal shares would still all double within a few thousand keys of each other (64 rehashes in
 * one apply turn at 524k keys: 150 ms), so shard i takes a share in proportion to 2^(i/shards):
 * their sizes span a factor of two and they cross each power of two one after another, at
 * totals about 1% apart. Deterministic, and nothing to iterate: the table iterates its slots.
 */
export class SlotIndex {
  private readonly shards: Array<Shard | null>;
  /** Shard by a hash's top bits. */
  private readonly shardOfTop: Uint8Array;
  private readonly shardBits: number;
  private count = 0;

  constructor(
    /** Whether `slot` holds `key` (the table stores the keys; the index only numbers). */
    private readonly holdsKey: (slot: number, key: string) => boolean,
    shardBits?: number,
  ) {
    const bits = shardBits ?? SHARD_BITS_DEFAULT;
    this.shardBits = bits;
    this.shardOfTop = shardTable(bits);
    this.shards = new Array<Shard | null>(1 << bits).fill(null);
  }

  get size(): number {
    return this.count;
  }

  /** The slot of `key`, or -1. */
  get(key: string): number {
    const hash = stringHash(key);
    const shard = this.shards[shardOfHash(this.shardOfTop, hash)];
    if (shard === undefined || shard === null) return -1;
    const at = this.find(shard, key, hash);
    return at < 0 ? -1 : shard.cells[at]! - 1;
  }

  has(key: string): boolean {
    return this.get(key) >= 0;
  }

  /**
   * Indexes `key` at `slot` unless the key is indexed already: then returns its slot and changes
   * nothing. Returns -1 when it added the key.
   */
  addIfAbsent(key: string, slot: number): number {
    const hash = stringHash(key);
    const index = shardOfHash(this.shardOfTop, hash);
    let shard = this.shards[index]!;
    if (shard === null) {
      shard = emptyShard(SHARD_CELLS_FIRST);
      this.shards[index] = shard;
    }
    const found = this.find(shard, key, hash);
    if (found >= 0) return shard.cells[found]! - 1;
    if ((shard.count + 1) * 4 > shard.cells.length * 3) resize(shard, shard.cells.length * 2);
    place(shard, slot + 1, hash);
    shard.count++;
    this.count++;
    return -1;
  }

  /** Removes `key`; false if it was not indexed. */
  delete(key: string): boolean {
    const hash = stringHash(key);
    const shard = this.shards[shardOfHash(this.shardOfTop, hash)];
    if (shard === undefined || shard === null) return false;
    let hole = this.find(shard, key, hash);
    if (hole < 0) return false;
    // Backward-shift deletion: pull later cells of the probe run into the hole, so a lookup
    // never stops at an empty cell short of its key (no tombstones to clean up later).
    const { cells, hashes } = shard;
    const mask = cells.length - 1;
    cells[hole] = 0;
    for (let at = (hole + 1) & mask; cells[at] !== 0; at = (at + 1) & mask) {
      const home = hashes[at]! & mask;
      // The cell may move into the hole unless its home lies cyclically in (hole, at].
      const homeAfterHole = hole <= at ? home > hole && home <= at : home > hole || home <= at;
      if (homeAfterHole) continue;
      cells[hole] = cells[at]!;
      hashes[hole] = hashes[at]!;
      cells[at] = 0;
      hole = at;
    }
    shard.count--;
    this.count--;
    return true;
  }

  /**
   * Sizes every shard for its share of `keys` keys at once, so that adding them grows nothing: a
   * snapshot install knows its record count, and growing to a million keys re-placed ~2 million
   * numbers over its build. Lookups are unchanged; only where a key sits in its shard may differ.
   */
  reserve(keys: number): void {
    const shares = shardShares(this.shardBits);
    for (let index = 0; index < this.shards.length; index++) {
      const expected = keys * shares[index]!;
      // Four standard deviations above the share a shard's key count varies by (binomially).
      const cells = cellsFor(Math.ceil(expected + 4 * Math.sqrt(expected)));
      const shard = this.shards[index];
      if (shard === undefined || shard === null) this.shards[index] = emptyShard(cells);
      else if (shard.cells.length < cells) resize(shard, cells);
    }
  }

  /** Cells per shard, in shard order (0 for a shard with none yet; for tests and diagnostics). */
  shardCells(): number[] {
    return this.shards.map((shard) => shard?.cells.length ?? 0);
  }

  /** Keys per shard, in shard order (for tests and diagnostics). */
  shardSizes(): number[] {
    return this.shards.map((shard) => shard?.count ?? 0);
  }

  clear(): void {
    this.shards.fill(null);
    this.count = 0;
  }

  /** The cell holding `key`, or -1. */
  private find(shard: Shard, key: string, hash: number): number {
    const { cells, hashes } = shard;
    const mask = cells.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const cell = cells[at]!;
      if (cell === 0) return -1;
      if (hashes[at] === hash && this.holdsKey(cell - 1, key)) return at;
    }
  }
}

function place(shard: Shard, cell: number, hash: number): void {
  const { cells, hashes } = shard;
  const mask = cells.length - 1;
  let at = hash & mask;
  while (cells[at] !== 0) at = (at + 1) & mask;
  cells[at] = cell;
  hashes[at] = hash;
}

function emptyShard(cells: number): Shard {
  return { cells: new Int32Array(cells), hashes: new Int32Array(cells), count: 0 };
}

/** The cells (a power of two) a shard needs to hold `keys` keys at most 3/4 full. */
function cellsFor(keys: number): number {
  let cells = SHARD_CELLS_FIRST;
  while (keys * 4 > cells * 3) cells *= 2;
  return cells;
}

/** Re-places a shard's cells into a table of `cellCount` cells (a larger power of two). */
function resize(shard: Shard, cellCount: number): void {
  const { cells, hashes } = shard;
  shard.cells = new Int32Array(cellCount);
  shard.hashes = new Int32Array(cellCount);
  for (let at = 0; at < cells.length; at++) {
    if (cells[at] !== 0) place(shard, cells[at]!, hashes[at]!);
  }
}

/** A 32-bit hash of `key` whose every bit depends on every character. */
export function stringHash(key: string): number {
  // FNV-1a over the UTF-16 code units: cheap, and it spreads keys that differ in any place.
  let hash = 0x811c9dc5 | 0; // an int32 from the start: the loop stays in integer arithmetic
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // Murmur3's finalizer: every key character then moves the top bits the shard table reads.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** The shard of `hash` (a stringHash) by a shardTable() (see SlotIndex). */
function shardOfHash(table: Uint8Array, hash: number): number {
  return table[hash >>> (32 - SHARD_TABLE_BITS)]!;
}

const shardSharesByBits = new Map<number, number[]>();

/** The fraction of hashes each shard takes, for 2^shardBits shards (see shardTable). */
function shardShares(shardBits: number): number[] {
  let shares = shardSharesByBits.get(shardBits);
  if (shares !== undefined) return shares;
  const table = shardTable(shardBits);
  const counts = new Array<number>(1 << shardBits).fill(0);
  for (const shard of table) counts[shard] = counts[shard]! + 1;
  shares = counts.map((count) => count / table.length);
  shardSharesByBits.set(shardBits, shares);
  return shares;
}

/** Bits of the hash that pick a shard: 65,536 slots, so a shard's share is exact to 0.1%. */
const SHARD_TABLE_BITS = 16;
const shardTables = new Map<number, Uint8Array>();

/**
 * The shard of each value of a hash's top bits, for 2^shardBits shards: each has slots in
 * proportion to 2^(i/shards) (see SlotIndex). Built once per shardBits and shared.
 */
function shardTable(shardBits: number): Uint8Array {
  if (shardBits < 0 || shardBits > 8) throw new RangeError(`shardBits ${shardBits} is not 0..8`);
  let table = shardTables.get(shardBits);
  if (table !== undefined) return table;
  const shards = 1 << shardBits;
  const slots = 1 << SHARD_TABLE_BITS;
  const weights = Array.from({ length: shards }, (_, i) => 2 ** (i / shards));
  const weightTotal = weights.reduce((sum, w) => sum + w, 0);
  table = new Uint8Array(slots);
  let cumulative = 0;
  let from = 0;
  for (let shard = 0; shard < shards; shard++) {
    cumulative += weights[shard]!;
    const to = shard === shards - 1 ? slots : Math.round((cumulative / weightTotal) * slots);
    table.fill(shard, from, to);
    from = to;
  }
  shardTables.set(shardBits, table);
  return table;
}
