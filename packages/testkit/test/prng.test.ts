import { describe, expect, it } from "vitest";
import { Prng } from "../src/prng.js";

describe("Prng", () => {
  it("gives the same sequence for the same seed and a different one for another seed", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const seqA = Array.from({ length: 20 }, () => a.nextUint32());
    const seqB = Array.from({ length: 20 }, () => b.nextUint32());
    const seqC = Array.from({ length: 20 }, () => c.nextUint32());
    expect(seqA).toEqual(seqB);
    expect(seqA).not.toEqual(seqC);
  });

  it("stays within the ranges it promises and covers them", () => {
    const random = new Prng(7);
    const seen = new Set<number>();
    let floatMin = 1;
    let floatMax = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = random.float();
      floatMin = Math.min(floatMin, f);
      floatMax = Math.max(floatMax, f);
      seen.add(random.int(-2, 3));
    }
    expect(floatMin).toBeGreaterThanOrEqual(0);
    expect(floatMax).toBeLessThan(1);
    expect([...seen].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2, 3]);
  });

  it("is roughly uniform (each of 10 buckets within 10% of its share)", () => {
    const random = new Prng(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(random.float() * 10)]++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(1_000);
  });

  it("chance(0) is never true and chance(1) always", () => {
    const random = new Prng(3);
    for (let i = 0; i < 1000; i++) {
      expect(random.chance(0)).toBe(false);
      expect(random.chance(1)).toBe(true);
    }
  });

  it("forks independent, reproducible streams", () => {
    const x = new Prng(9).fork();
    const y = new Prng(9).fork();
    expect(x.nextUint32()).toBe(y.nextUint32());
    expect(() => new Prng(1).int(3, 2)).toThrow(RangeError);
    expect(() => new Prng(1).pick([])).toThrow(RangeError);
  });
});
