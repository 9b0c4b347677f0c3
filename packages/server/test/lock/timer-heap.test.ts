import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TimerHeap } from "../../src/lock/timer-heap.js";
import { propertySeed } from "./helpers.js";

interface Item {
  id: number;
  dueMs: number;
  heapIndex: number;
}

describe("TimerHeap", () => {
  it("always peeks the smallest dueMs under random upserts, re-keys and removals", () => {
    const seed = propertySeed("timer heap");
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom("upsert", "remove"),
            fc.nat(20),
            fc.integer({ min: 0, max: 1000 }),
          ),
          {
            maxLength: 200,
            size: "max",
          },
        ),
        (ops) => {
          const heap = new TimerHeap<Item>();
          const items = new Map<number, Item>();
          const live = new Set<number>();
          for (const [op, id, dueMs] of ops) {
            let item = items.get(id);
            if (item === undefined) {
              item = { id, dueMs, heapIndex: -1 };
              items.set(id, item);
            }
            if (op === "upsert") {
              item.dueMs = dueMs;
              heap.upsert(item);
              live.add(id);
            } else {
              heap.remove(item);
              live.delete(id);
              expect(item.heapIndex).toBe(-1);
            }
            expect(heap.size).toBe(live.size);
            const minimum = Math.min(...[...live].map((i) => (items.get(i) as Item).dueMs));
            expect(heap.peek()?.dueMs ?? Infinity).toBe(minimum);
          }
          heap.clear();
          expect(heap.size).toBe(0);
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
