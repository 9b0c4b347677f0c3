import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlotIndex, stringHash } from "../../src/lock/slot-index.js";
import { propertySeed } from "./helpers.js";

/** A table of slots the way KeyTable keeps them: keys by slot, freed slots reused LIFO. */
class Slots {
  readonly keyOf: Array<string | undefined> = [];
  readonly free: number[] = [];
  take(key: string): number {
    const slot = this.free.pop() ?? this.keyOf.length;
    this.keyOf[slot] = key;
    return slot;
  }
  release(slot: number): void {
    this.keyOf[slot] = undefined;
    this.free.push(slot);
  }
}

describe("SlotIndex", () => {
  it("finds every key's slot like a Map under random adds and deletes, through growth", () => {
    const seed = propertySeed("slot index");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(700)), { maxLength: 1500 }),
        fc.integer({ min: 0, max: 3 }),
        (ops, shardBits) => {
          const slots = new Slots();
          const index = new SlotIndex((slot, key) => slots.keyOf[slot] === key, shardBits);
          const model = new Map<string, number>();
          for (const [add, n] of ops) {
            const key = `jobs/tenant-${n % 7}/task-${n}`;
            if (add) {
              const existing = model.get(key);
              if (existing !== undefined) {
                expect(index.addIfAbsent(key, 99_999)).toBe(existing);
              } else {
                const slot = slots.take(key);
                expect(index.addIfAbsent(key, slot)).toBe(-1);
                model.set(key, slot);
              }
            } else {
              const slot = model.get(key);
              expect(index.delete(key)).toBe(slot !== undefined);
              if (slot !== undefined) {
                model.delete(key);
                slots.release(slot);
              }
            }
            expect(index.size).toBe(model.size);
            expect(index.get(key)).toBe(model.get(key) ?? -1);
          }
          for (let n = 0; n <= 700; n++) {
            const key = `jobs/tenant-${n % 7}/task-${n}`;
            expect(index.get(key)).toBe(model.get(key) ?? -1);
          }
          index.clear();
          expect(index.size).toBe(0);
          expect(index.get("jobs/tenant-0/task-0")).toBe(-1);
        },
      ),
      { seed, numRuns: 100 },
    );
  });

  it("tells keys of equal hash apart by the key itself", () => {
    // One shard and keys that collide in a 16-cell table: probing must compare keys, not cells.
    const slots = new Slots();
    const index = new SlotIndex((slot, key) => slots.keyOf[slot] === key, 0);
    const keys = Array.from({ length: 7 }, (_, i) => `k${i * 16}`);
    for (const key of keys) expect(index.addIfAbsent(key, slots.take(key))).toBe(-1);
    expect(index.delete(keys[2]!)).toBe(true);
    slots.release(2);
    keys.forEach((key, slot) => expect(index.get(key)).toBe(slot === 2 ? -1 : slot));
  });

  it("keeps a key reachable when a deletion shifts it past a key at its own home", () => {
    // In one 16-cell shard: a and c want cell 3, b wants cell 4, so c lands in 5. Deleting a must
    // move c back to 3 even though b, between them, stays.
    const homeOf = (key: string): number => stringHash(key) & 15;
    const named = (home: number, skip: string[]): string => {
      for (let i = 0; ; i++) {
        const key = `key-${i}`;
        if (homeOf(key) === home && !skip.includes(key)) return key;
      }
    };
    const a = named(3, []);
    const b = named(4, []);
    const c = named(3, [a]);
    const slots = new Slots();
    const index = new SlotIndex((slot, key) => slots.keyOf[slot] === key, 0);
    for (const key of [a, b, c]) index.addIfAbsent(key, slots.take(key));
    expect(index.delete(a)).toBe(true);
    slots.release(0);
    expect(index.get(b)).toBe(1);
    expect(index.get(c)).toBe(2);
  });

  it("spreads keys over its shards, and grows them one after another, not all at once", () => {
    // A shard doubles its table at powers of two; equal shards all crossed 2048 keys within a
    // few thousand inserts of each other (the 524k-lock stall: 64 rehashes in one apply turn).
    const slots = new Slots();
    const index = new SlotIndex((slot, key) => slots.keyOf[slot] === key, 6);
    const reachedAt: number[] = [];
    let sizes = index.shardSizes();
    for (let i = 1; reachedAt.length < 64; i++) {
      const key = `jobs/tenant-${Math.floor(i / 1000)}/task-${i % 1000}`;
      index.addIfAbsent(key, slots.take(key));
      const next = index.shardSizes();
      for (let s = 0; s < 64; s++) if (sizes[s] === 2047 && next[s] === 2048) reachedAt.push(i);
      sizes = next;
    }
    reachedAt.sort((a, b) => a - b);
    // Spread over a factor of two of the total: at most 3 in any 1024 inserts (an apply turn).
    // Equal shards crossed 10-12 times in some 1024 inserts here.
    expect(reachedAt.at(-1)! / reachedAt[0]!).toBeGreaterThan(1.7);
    for (let k = 3; k < reachedAt.length; k++)
      expect(reachedAt[k]! - reachedAt[k - 3]!).toBeGreaterThanOrEqual(1024);
    // Every shard got keys, none more than twice its share of an equal split.
    const total = index.size;
    for (const size of index.shardSizes()) {
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThan((2 * total) / 64);
    }
  });

  it("reserved for n keys, grows no shard while n keys arrive, and finds each as a grown index does", () => {
    const n = 20_000;
    const keys = Array.from({ length: n }, (_, i) => `jobs/tenant-${i % 97}/task-${i}`);
    const slots = new Slots();
    const grown = new SlotIndex((slot, key) => slots.keyOf[slot] === key);
    const reserved = new SlotIndex((slot, key) => slots.keyOf[slot] === key);
    reserved.reserve(n);
    const cellsReserved = reserved.shardCells();
    for (const key of keys) {
      const slot = slots.take(key);
      expect(grown.addIfAbsent(key, slot)).toBe(-1);
      expect(reserved.addIfAbsent(key, slot)).toBe(-1);
    }
    expect(reserved.shardCells()).toEqual(cellsReserved);
    // Every shard at most 3/4 full, as growth keeps it.
    const sizes = reserved.shardSizes();
    cellsReserved.forEach((cells, s) => expect(sizes[s]! * 4).toBeLessThanOrEqual(cells * 3));
    expect(reserved.shardSizes()).toEqual(grown.shardSizes());
    expect(reserved.size).toBe(grown.size);
    for (const key of keys) expect(reserved.get(key)).toBe(grown.get(key));
    expect(reserved.get("jobs/tenant-1/task-absent")).toBe(-1);
    for (const key of keys.slice(0, 500)) expect(reserved.delete(key)).toBe(true);
    for (const key of keys.slice(0, 500)) expect(grown.delete(key)).toBe(true);
    for (const key of keys) expect(reserved.get(key)).toBe(grown.get(key));
  });

  it("reserved after keys arrived, keeps every key and sizes each shard for its share", () => {
    const slots = new Slots();
    const index = new SlotIndex((slot, key) => slots.keyOf[slot] === key, 2);
    const keys = Array.from({ length: 300 }, (_, i) => `k/${i}`);
    for (const key of keys) index.addIfAbsent(key, slots.take(key));
    const before = index.shardCells();
    index.reserve(100_000);
    const after = index.shardCells();
    // Room for all of them at most 3/4 full, and in each shard for at least half an equal share
    // (shares span a factor of two).
    expect(after.reduce((sum, cells) => sum + cells, 0) * 3).toBeGreaterThanOrEqual(100_000 * 4);
    after.forEach((cells, s) => {
      expect(cells).toBeGreaterThan(before[s]!);
      expect(cells * 3).toBeGreaterThanOrEqual((100_000 / 8) * 4);
    });
    keys.forEach((key, slot) => expect(index.get(key)).toBe(slot));
    expect(index.size).toBe(300);
    // A smaller reservation shrinks nothing.
    index.reserve(10);
    expect(index.shardCells()).toEqual(after);
  });
});
