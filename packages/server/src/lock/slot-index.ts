import { SHARD_BITS_DEFAULT, shardOfHash, shardTable, stringHash } from "./sharded-map.js";

/** Cells of a shard's table when its first key arrives; it doubles when half full. */
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
 * (KeyTable's keys, the holder interner's values): it holds only numbers, in typed arrays, and
 * asks `keyAt` to compare a key. A Map from the same strings cost some 50 bytes per key in the
 * heap, which every full GC walks; this is 16 at most, outside it. Sharded like ShardedMap
 * (shards of unequal shares), so a growth step re-places one shard's numbers, never all.
 * Deterministic: no iteration; the table iterates its own slots.
 */
export class SlotIndex {
  private readonly shards: Array<Shard | null>;
  /** Shard by a hash's top bits. */
  private readonly shardOfTop: Uint8Array;
  private count = 0;

  constructor(
    private readonly keyAt: (slot: number) => string | null | undefined,
    shardBits?: number,
  ) {
    const bits = shardBits ?? SHARD_BITS_DEFAULT;
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

  /**
   * Indexes `key` at `slot` unless the key is indexed already: then returns its slot and changes
   * nothing. Returns -1 when it added the key.
   */
  addIfAbsent(key: string, slot: number): number {
    const hash = stringHash(key);
    const index = shardOfHash(this.shardOfTop, hash);
    let shard = this.shards[index]!;
    if (shard === null) {
      shard = {
        cells: new Int32Array(SHARD_CELLS_FIRST),
        hashes: new Int32Array(SHARD_CELLS_FIRST),
        count: 0,
      };
      this.shards[index] = shard;
    }
    const found = this.find(shard, key, hash);
    if (found >= 0) return shard.cells[found]! - 1;
    if ((shard.count + 1) * 2 > shard.cells.length) grow(shard);
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
      if (hashes[at] === hash && this.keyAt(cell - 1) === key) return at;
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

function grow(shard: Shard): void {
  const { cells, hashes } = shard;
  shard.cells = new Int32Array(cells.length * 2);
  shard.hashes = new Int32Array(cells.length * 2);
  for (let at = 0; at < cells.length; at++) {
    if (cells[at] !== 0) place(shard, cells[at]!, hashes[at]!);
  }
}
