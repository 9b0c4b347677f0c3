import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlotRing } from "../../src/host/slot-ring.js";
import { propertySeed } from "../lock/helpers.js";

describe("SlotRing", () => {
  it("grows past its first slots and wraps around without mixing keys up", () => {
    const ring = new SlotRing<string>();
    for (let key = 1000; key < 1300; key++) ring.set(key, `v${key}`);
    for (let key = 1000; key < 1290; key++) expect(ring.delete(key)).toBe(true);
    for (let key = 1300; key < 1400; key++) ring.set(key, `v${key}`);
    expect(ring.size).toBe(110);
    expect(ring.get(1289)).toBeUndefined();
    expect(ring.get(1290)).toBe("v1290");
    expect(ring.get(1399)).toBe("v1399");
    expect(ring.entries().map(([key]) => key)).toEqual(
      Array.from({ length: 110 }, (_, i) => 1290 + i),
    );
    ring.deleteThrough(1349);
    expect(ring.entries().map(([key]) => key)[0]).toBe(1350);
    expect(ring.size).toBe(50);
  });

  it("holds what a Map holds through sets, deletes, deletes through a key and clears", () => {
    const seed = propertySeed("SlotRing against a Map");
    const step = fc.oneof(
      // A key near the newest (mostly ahead of it, as log indexes and request ids come).
      fc.record({ op: fc.constant("set" as const), ahead: fc.integer({ min: -20, max: 40 }) }),
      fc.record({ op: fc.constant("delete" as const), pick: fc.nat(1000) }),
      fc.record({ op: fc.constant("deleteThrough" as const), back: fc.nat(30) }),
      fc.record({ op: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.nat(2 ** 40), fc.array(step, { maxLength: 300 }), (start, steps) => {
        const ring = new SlotRing<number>();
        const model = new Map<number, number>();
        let newest = start;
        let value = 0;
        for (const s of steps) {
          if (s.op === "set") {
            const key = Math.max(0, newest + s.ahead);
            newest = Math.max(newest, key);
            ring.set(key, ++value);
            model.set(key, value);
          } else if (s.op === "delete") {
            const keys = [...model.keys()];
            const key = keys.length > 0 ? keys[s.pick % keys.length]! : newest;
            expect(ring.delete(key)).toBe(model.delete(key));
          } else if (s.op === "deleteThrough") {
            const through = newest - s.back;
            ring.deleteThrough(through);
            for (const key of [...model.keys()]) if (key <= through) model.delete(key);
          } else {
            ring.clear();
            model.clear();
          }
          expect(ring.size).toBe(model.size);
          expect(ring.entries()).toEqual([...model.entries()].sort((a, b) => a[0] - b[0]));
          for (let key = newest - 45; key <= newest + 1; key++) {
            expect(ring.get(key)).toBe(model.get(key));
          }
        }
      }),
      { seed, numRuns: 200 },
    );
  });
});
