/** Shards of a ShardedMap by default: a million keys are 64 Maps of some 16k entries. */
export const SHARD_BITS_DEFAULT = 6;

/**
 * A Map from string keys, split into shards by a hash of the key. One Map of a million keys
 * rehashes all of them when it outgrows its table (past 2^19 keys: a second-long stall on every
 * node at once); a shard rehashes only its own share, so the longest step stays small.
 * Deterministic: iteration visits the shards in order, each in its insertion order, so the same
 * operations always iterate the same way. An iterator advanced across changes skips keys deleted
 * meanwhile (as a Map's does), but a key added meanwhile is visited only if it lands in a shard
 * the iterator has not finished.
 */
export class ShardedMap<V> {
  private readonly shards: Array<Map<string, V>>;
  private readonly mask: number;
  private count = 0;

  constructor(shardBits: number = SHARD_BITS_DEFAULT) {
    this.mask = (1 << shardBits) - 1;
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

  *keys(): Generator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *values(): Generator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  private shardOf(key: string): Map<string, V> {
    // FNV-1a over the UTF-16 code units: cheap, and it spreads keys that differ in any place.
    let hash = 0x811c9dc5 | 0; // an int32 from the start: the loop stays in integer arithmetic
    for (let i = 0; i < key.length; i++) {
      hash ^= key.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return this.shards[(hash ^ (hash >>> 16)) & this.mask]!;
  }
}
