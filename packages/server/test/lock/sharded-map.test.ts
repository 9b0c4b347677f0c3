import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ShardedMap } from "../../src/lock/sharded-map.js";
import { propertySeed } from "./helpers.js";

describe("ShardedMap", () => {
  it("behaves like a Map under random sets and deletes", () => {
    const seed = propertySeed("sharded map");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(500), fc.nat(1000)), { maxLength: 400 }),
        (ops) => {
          const map = new ShardedMap<number>(3);
          const model = new Map<string, number>();
          for (const [set, n, value] of ops) {
            const key = `key-${n}`;
            if (set) {
              map.set(key, value);
              model.set(key, value);
            } else {
              expect(map.delete(key)).toBe(model.delete(key));
            }
            expect(map.size).toBe(model.size);
            expect(map.get(key)).toBe(model.get(key));
            expect(map.has(key)).toBe(model.has(key));
          }
          expect([...map.keys()].sort()).toEqual([...model.keys()].sort());
          expect([...map.keys()].map((k) => model.get(k))).toEqual([...map.values()]);
          map.clear();
          expect(map.size).toBe(0);
          expect([...map.keys()]).toEqual([]);
        },
      ),
      { seed, numRuns: 100 },
    );
  });

  it("iterates the same way after the same operations, and spreads keys over its shards", () => {
    const build = (): ShardedMap<number> => {
      const map = new ShardedMap<number>(4);
      for (let i = 0; i < 4000; i++) map.set(`jobs/tenant-${i >> 6}/task-${i & 63}`, i);
      for (let i = 0; i < 4000; i += 3) map.delete(`jobs/tenant-${i >> 6}/task-${i & 63}`);
      return map;
    };
    const keys = [...build().keys()];
    expect([...build().keys()]).toEqual(keys);
    // 16 shards of 4000 similar keys: none empty, none with more than twice its share.
    const map = new ShardedMap<number>(4);
    const perShard = new Map<number, number>();
    for (let i = 0; i < 4000; i++) map.set(`jobs/tenant-${i >> 6}/task-${i & 63}`, i);
    let shard = -1;
    let previous = Number.POSITIVE_INFINITY;
    for (const value of map.values()) {
      // Within a shard values come in insertion (ascending) order: a drop starts the next shard.
      if (value < previous) shard++;
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      previous = value;
    }
    expect(perShard.size).toBeGreaterThanOrEqual(15);
    for (const count of perShard.values()) expect(count).toBeLessThan(500);
  });

  it("grows its shards one after another, not all at once", () => {
    // A Map doubles its table at powers of two; equal shards would all cross 2048 keys within a
    // few thousand inserts of each other (the 524k-lock stall, 64 rehashes in one apply turn).
    const map = new ShardedMap<number>(6);
    const reachedAt: number[] = [];
    let sizes = map.shardSizes();
    for (let i = 1; reachedAt.length < 64; i++) {
      map.set(`jobs/tenant-${Math.floor(i / 1000)}/task-${i % 1000}`, i);
      const next = map.shardSizes();
      for (let s = 0; s < 64; s++) if (sizes[s] === 2047 && next[s] === 2048) reachedAt.push(i);
      sizes = next;
    }
    reachedAt.sort((a, b) => a - b);
    // Spread over a factor of two of the total: at most 3 in any 1024 inserts (an apply turn).
    // Equal shards crossed 10-12 times in some 1024 inserts here.
    expect(reachedAt.at(-1)! / reachedAt[0]!).toBeGreaterThan(1.7);
    for (let k = 3; k < reachedAt.length; k++)
      expect(reachedAt[k]! - reachedAt[k - 3]!).toBeGreaterThanOrEqual(1024);
  });
});
