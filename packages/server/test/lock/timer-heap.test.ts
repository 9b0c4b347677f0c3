import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TimerHeap } from "../../src/lock/timer-heap.js";
import { propertySeed } from "./helpers.js";

describe("TimerHeap", () => {
  it("always peeks the smallest dueMs under random upserts, re-keys and removals", () => {
    const seed = propertySeed("timer heap");
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom("upsert", "remove"),
            fc.nat(2100),
            fc.integer({ min: 0, max: 1000 }),
          ),
          {
            maxLength: 200,
            size: "max",
          },
        ),
        (ops) => {
          const heap = new TimerHeap();
          const due = new Map<number, number>();
          for (const [op, id, dueMs] of ops) {
            if (op === "upsert") {
              heap.upsert(id, dueMs);
              due.set(id, dueMs);
              expect(heap.has(id)).toBe(true);
            } else {
              heap.remove(id);
              due.delete(id);
              expect(heap.has(id)).toBe(false);
            }
            expect(heap.size).toBe(due.size);
            const minimum = Math.min(...due.values());
            const first = heap.peek();
            expect(first < 0 ? Infinity : heap.dueMsOf(first)).toBe(minimum);
          }
          heap.clear();
          expect(heap.size).toBe(0);
          expect(heap.peek()).toBe(-1);
          for (const id of due.keys()) expect(heap.has(id)).toBe(false);
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});

describe("TimerHeap across pages", () => {
  it("pops ids spread over many pages in due order", () => {
    const heap = new TimerHeap();
    const count = 30_000;
    // A fixed permutation of due times (7919 is prime, coprime with count).
    for (let id = 0; id < count; id++) heap.upsert(id, (id * 7919) % count);
    for (let id = 0; id < count; id += 5) heap.remove(id);
    let previous = -1;
    let popped = 0;
    while (heap.size > 0) {
      const id = heap.peek();
      expect(id % 5).not.toBe(0);
      expect(heap.dueMsOf(id)).toBeGreaterThan(previous);
      previous = heap.dueMsOf(id);
      heap.remove(id);
      popped++;
    }
    expect(popped).toBe(count - count / 5);
  });
});
