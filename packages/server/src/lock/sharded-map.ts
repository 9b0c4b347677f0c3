/** Shards of a ShardedMap by default: a million keys are 64 Maps of some 16k entries. */
export const SHARD_BITS_DEFAULT = 6;

/**
 * A Map from string keys, split into shards by a hash of the key. One Map of a million keys
 * rehashes all of them when it outgrows its table (past 2^19 keys: a second-long stall on every
 * node at once); a shard rehashes only its own share, so the longest step stays small.
 * Shards of equal shares would still all double within a few thousand keys of each other (64
 * rehashes of 8k keys in one apply turn at 524k keys: 150 ms), so shard i takes a share in
 * proportion to 2^(i/shards): their sizes span a factor of two and they cross each power of two
 * one after another, at totals about 1% apart.
 * Deterministic: iteration visits the shards in order, each in its insertion order, so the same
 * operations always iterate the same way. An iterator advanced across changes skips keys deleted
 * meanwhile (as a Map's does), but a key added meanwhile is visited only if it lands in a shard
 * the iterator has not finished.
 */
export class ShardedMap<V> {
  private readonly shards: Array<Map<string, V>>;
  /** The shard of each value of a hash's top SHARD_TABLE_BITS bits. */
  private readonly shardOfTop: Uint8Array;
  private count = 0;

  constructor(shardBits: number = SHARD_BITS_DEFAULT) {
    this.shardOfTop = shardTable(shardBits);
    this.shards = Array.from({ length: 1 << shardBits }, () => new Map<string, V>());
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.shardOf(key).get(key);
  }

  has(key: string): boolean {
    return this.shardOf(key).has(key);
  }

  set(key: string, value: V): void {
    const shard = this.shardOf(key);
    const before = shard.size;
    shard.set(key, value);
    this.count += shard.size - before;
  }

  /** Sets `key` to `value` unless it is there already (then false, changing nothing): one hash. */
  setIfAbsent(key: string, value: V): boolean {
    const shard = this.shardOf(key);
    if (shard.has(key)) return false;
    shard.set(key, value);
    this.count++;
    return true;
  }

  delete(key: string): boolean {
    const deleted = this.shardOf(key).delete(key);
    if (deleted) this.count--;
    return deleted;
  }

  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.count = 0;
  }

  /** Keys per shard, in shard order (for diagnostics and tests). */
  shardSizes(): number[] {
    return this.shards.map((shard) => shard.size);
  }

  *keys(): Generator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *values(): Generator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  private shardOf(key: string): Map<string, V> {
    return this.shards[shardOfHash(this.shardOfTop, stringHash(key))]!;
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

/** The shard of `hash` (a stringHash) by a shardTable() (see ShardedMap). */
export function shardOfHash(table: Uint8Array, hash: number): number {
  return table[hash >>> (32 - SHARD_TABLE_BITS)]!;
}

/** Bits of the hash that pick a shard: 65,536 slots, so a shard's share is exact to 0.1%. */
const SHARD_TABLE_BITS = 16;
const shardTables = new Map<number, Uint8Array>();

/**
 * The shard of each value of a hash's top bits, for 2^shardBits shards: each has slots in
 * proportion to 2^(i/shards) (see ShardedMap). Built once per shardBits and shared.
 */
export function shardTable(shardBits: number): Uint8Array {
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
