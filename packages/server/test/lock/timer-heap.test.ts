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
