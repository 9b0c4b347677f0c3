import { describe, expect, it } from "vitest";
import {
  Float64Pages,
  Int32Pages,
  PagedArray,
  Uint32Pages,
  Uint8Pages,
  pagedValues,
} from "../../src/lock/paged-array.js";

describe("PagedArray", () => {
  it("keeps every slot's value across many pages, and a new page holds its initial value", () => {
    const numbers = new PagedArray<number>((slots) => new Int32Array(slots).fill(-1), 3);
    expect(numbers.capacity).toBe(0);
    numbers.reserve(0);
    expect(numbers.capacity).toBe(8);
    numbers.reserve(99);
    expect(numbers.capacity).toBe(104);
    for (let slot = 0; slot < 100; slot += 2) numbers.put(slot, slot * 3);
    for (let slot = 0; slot < 100; slot++)
      expect(numbers.at(slot)).toBe(slot % 2 === 0 ? slot * 3 : -1);
    numbers.clear();
    expect(numbers.capacity).toBe(0);
    numbers.reserve(5);
    expect(numbers.at(4)).toBe(-1);
  });

  it("starts the first page small and doubles it to a whole page, keeping its values", () => {
    const numbers = new PagedArray<number>((slots) => new Float64Array(slots).fill(-1), 6);
    numbers.reserve(0);
    expect(numbers.capacity).toBe(8);
    for (let slot = 0; slot < 8; slot++) numbers.put(slot, slot + 0.5);
    numbers.reserve(20);
    expect(numbers.capacity).toBe(32);
    numbers.reserve(100);
    expect(numbers.capacity).toBe(128);
    for (let slot = 0; slot < 128; slot++)
      expect(numbers.at(slot)).toBe(slot < 8 ? slot + 0.5 : -1);
  });

  it("pages of plain values hold strings", () => {
    const keys = pagedValues<string | undefined>(undefined, 2);
    keys.reserve(10);
    keys.put(9, "k9");
    expect(keys.at(9)).toBe("k9");
    expect(keys.at(8)).toBeUndefined();
  });

  it("each kind of page keeps its values across pages, starts at its initial value and stores as its type", () => {
    const kinds = [
      { pages: new Float64Pages(-1, 3), initial: -1, stored: (v: number) => v },
      { pages: new Int32Pages(-1, 3), initial: -1, stored: (v: number) => Math.trunc(v) },
      { pages: new Uint32Pages(3), initial: 0, stored: (v: number) => Math.trunc(v) },
      { pages: new Uint8Pages(3), initial: 0, stored: (v: number) => Math.trunc(v) % 256 },
    ];
    for (const { pages, initial, stored } of kinds) {
      pages.reserve(99);
      expect(pages.capacity).toBe(104);
      for (let slot = 0; slot < 100; slot += 2) pages.put(slot, slot * 3 + 0.5);
      for (let slot = 0; slot < 100; slot++)
        expect(pages.at(slot)).toBe(slot % 2 === 0 ? stored(slot * 3 + 0.5) : initial);
    }
    const values = pagedValues<string | null>(null, 3);
    values.reserve(99);
    for (let slot = 0; slot < 100; slot += 2) values.put(slot, `k${slot}`);
    for (let slot = 0; slot < 100; slot++)
      expect(values.at(slot)).toBe(slot % 2 === 0 ? `k${slot}` : null);
  });
});
