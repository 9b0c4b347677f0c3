import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeyArena } from "../../src/lock/key-arena.js";
import { propertySeed } from "./helpers.js";

/** Strings of any UTF-16 code units: ASCII, Latin-1, other planes, lone surrogates, empty. */
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)) }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 })
    .map((units) => String.fromCharCode(...units)),
);

describe("KeyArena", () => {
  it("behaves like a Map of strings by id under random puts, removes and lookups", () => {
    const seed = propertySeed("key arena");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("put", "remove"), fc.nat(300), anyString), {
          maxLength: 400,
        }),
        anyString,
        (ops, probe) => {
          const arena = new KeyArena();
          const model = new Map<number, string>();
          for (const [op, id, text] of ops) {
            if (op === "put") {
              arena.put(id, text);
              model.set(id, text);
            } else if (op === "remove") {
              arena.remove(id);
              model.delete(id);
            }
          }
          for (let id = 0; id <= 301; id++) {
            expect(arena.at(id)).toBe(model.get(id));
            expect(arena.holds(id)).toBe(model.has(id));
            const stored = model.get(id);
            if (stored !== undefined) expect(arena.equals(id, stored)).toBe(true);
            expect(arena.equals(id, probe)).toBe(stored === probe);
            // A string one code unit off (longer, or its last unit changed) is another key.
            if (stored !== undefined) {
              expect(arena.equals(id, `${stored}a`)).toBe(false);
              if (stored.length > 0) {
                const last = stored.charCodeAt(stored.length - 1);
                const other = `${stored.slice(0, -1)}${String.fromCharCode(last ^ 0x100)}`;
                expect(arena.equals(id, other)).toBe(false);
              }
            }
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it("gives a freed room to the next string of its size, so similar keys do not grow it", () => {
    const arena = new KeyArena();
    for (let id = 0; id < 10_000; id++) arena.put(id, `jobs/tenant-${id % 100}/task-${id}`);
    const grown = arena.pageBytes;
    // Churn: each key released and a new one of about the same length taken in its slot.
    for (let round = 0; round < 5; round++) {
      for (let id = 0; id < 10_000; id++) {
        arena.remove(id);
        arena.put(id, `jobs/tenant-${(id + round) % 100}/task-${id + round}`);
      }
    }
    expect(arena.pageBytes).toBe(grown);
    expect(arena.at(1234)).toBe("jobs/tenant-38/task-1238");
  });

  it("stores a string longer than a page in a page of its own, and the next after it", () => {
    const arena = new KeyArena();
    const long = "x".repeat((1 << 20) + 5);
    const wide = "\u4e00".repeat(3 << 19); // two bytes a unit: 3 MiB
    arena.put(0, "a");
    arena.put(1, long);
    arena.put(2, "b");
    arena.put(3, wide);
    arena.put(4, "c");
    expect([arena.at(0), arena.at(2), arena.at(4)]).toEqual(["a", "b", "c"]);
    expect(arena.at(1)).toBe(long);
    expect(arena.at(3)).toBe(wide);
    expect(arena.equals(1, long)).toBe(true);
    expect(arena.equals(3, wide)).toBe(true);
    arena.remove(1);
    arena.put(5, `${"y".repeat((1 << 20) + 5)}`);
    expect(arena.at(5)).toBe("y".repeat((1 << 20) + 5));
    expect(arena.at(1)).toBeUndefined();
  });

  it("forgets everything on clear", () => {
    const arena = new KeyArena();
    arena.put(0, "k");
    arena.put(9000, "far");
    arena.clear();
    expect(arena.at(0)).toBeUndefined();
    expect(arena.holds(9000)).toBe(false);
    expect(arena.pageBytes).toBe(0);
    arena.put(0, "again");
    expect(arena.at(0)).toBe("again");
  });
});
