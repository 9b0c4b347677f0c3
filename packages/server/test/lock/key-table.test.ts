import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KeyState, Waiter } from "../../src/lock/key-state.js";
import { KeyTable } from "../../src/lock/key-table.js";
import { propertySeed } from "./helpers.js";

function held(key: string, holder: string | null, token: number, waiters: Waiter[] = []): KeyState {
  return {
    key,
    holder,
    token,
    leaseRevision: token,
    ttlMs: 1000 + token,
    lockDelayMs: holder === null ? 0 : 7,
    delayRevision: holder === null ? token : 0,
    delayMs: holder === null ? 300 : 0,
    waiters,
  };
}

function plain(state: KeyState | undefined): KeyState | undefined {
  if (state === undefined) return undefined;
  const { key, holder, token, leaseRevision, ttlMs, lockDelayMs, delayRevision, delayMs } = state;
  return {
    key,
    holder,
    token,
    leaseRevision,
    ttlMs,
    lockDelayMs,
    delayRevision,
    delayMs,
    waiters: state.waiters.map((w) => ({ ...w })),
  };
}

describe("KeyTable", () => {
  it("behaves like a Map of KeyState records under random sets, edits, deletes and queues", () => {
    const seed = propertySeed("key table");
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom("set", "delete", "holder", "token", "queue"),
            fc.nat(2100),
            fc.constantFrom(null, "a", "b", "c"),
            fc.nat(1_000_000),
          ),
          { maxLength: 300, size: "max" },
        ),
        (ops) => {
          const table = new KeyTable();
          const model = new Map<string, KeyState>();
          for (const [op, n, holder, number] of ops) {
            const key = `k${n}`;
            const state = table.get(key);
            const expected = model.get(key);
            if (op === "set") {
              table.set(key, held(key, holder, number));
              model.set(key, held(key, holder, number));
            } else if (op === "delete") {
              expect(table.delete(key)).toBe(model.delete(key));
            } else if (state !== undefined && expected !== undefined) {
              if (op === "holder") {
                state.holder = holder;
                expected.holder = holder;
              } else if (op === "token") {
                state.token = number;
                expected.token = number;
              } else {
                const waiter: Waiter = {
                  value: `w${number}`,
                  waiterId: number,
                  waiterRevision: number,
                  ttlMs: 1,
                  waitMs: 2,
                  lockDelayMs: 3,
                  requestId: 4,
                };
                table.pushWaiter(key, waiter);
                expected.waiters.push({ ...waiter });
              }
            }
            expect(table.size).toBe(model.size);
            expect(table.has(key)).toBe(model.has(key));
            expect(plain(table.get(key))).toEqual(model.get(key));
          }
          expect([...table.keys()].sort()).toEqual([...model.keys()].sort());
          expect([...table.states()].map(plain)).toEqual(
            [...table.keys()].map((key) => model.get(key)),
          );
          const visited: unknown[] = [];
          table.forEachState((state) => visited.push(plain(state)));
          expect(visited).toEqual([...table.states()].map(plain));
          table.clear();
          expect(table.size).toBe(0);
          expect(table.get("k0")).toBeUndefined();
        },
      ),
      { seed, numRuns: 100 },
    );
  });

  it("a view keeps reading its own key's slot while other keys come and go", () => {
    const table = new KeyTable();
    table.set("x", held("x", "a", 5));
    const view = table.get("x") as KeyState;
    for (let i = 0; i < 3000; i++) table.set(`y${i}`, held(`y${i}`, "b", i + 1));
    for (let i = 0; i < 3000; i += 2) table.delete(`y${i}`);
    view.token = 9;
    expect(plain(table.get("x"))).toEqual({ ...held("x", "a", 5), token: 9 });
    expect(table.get("y1")?.holder).toBe("b");
  });
});

describe("KeyTable across pages", () => {
  it("keeps every key's fields when the table grows past many pages and slots are reused", () => {
    const table = new KeyTable();
    const count = 20_000;
    for (let i = 0; i < count; i++) table.set(`k${i}`, held(`k${i}`, i % 3 === 0 ? null : "a", i));
    for (let i = 0; i < count; i += 2) table.delete(`k${i}`);
    for (let i = 0; i < count; i += 4) table.set(`r${i}`, held(`r${i}`, "b", count + i));
    expect(table.size).toBe(count / 2 + count / 4);
    for (let i = 1; i < count; i += 2)
      expect(plain(table.get(`k${i}`))).toEqual(held(`k${i}`, i % 3 === 0 ? null : "a", i));
    for (let i = 0; i < count; i += 4)
      expect(plain(table.get(`r${i}`))).toEqual(held(`r${i}`, "b", count + i));
    expect(new Set(table.keys()).size).toBe(table.size);
  });

  it("keeps every holder when each key has its own, past many pages of holder ids, ids reused", () => {
    const table = new KeyTable();
    const count = 20_000;
    for (let i = 0; i < count; i++) table.set(`k${i}`, held(`k${i}`, `h${i}`, i));
    // Frees the ids of the even holders; new holders then take them.
    for (let i = 0; i < count; i += 2) table.set(`k${i}`, held(`k${i}`, null, i));
    for (let i = 0; i < count; i += 4) table.set(`r${i}`, held(`r${i}`, `g${i}`, count + i));
    // A holder of two keys keeps its value while it still holds one of them.
    table.set("twice", held("twice", "h1", 1));
    table.delete("k1");
    for (let i = 0; i < count; i++) {
      const holder = i % 2 === 0 ? null : `h${i}`;
      if (i !== 1) expect(plain(table.get(`k${i}`))).toEqual(held(`k${i}`, holder, i));
    }
    for (let i = 0; i < count; i += 4)
      expect(plain(table.get(`r${i}`))).toEqual(held(`r${i}`, `g${i}`, count + i));
    expect(table.get("twice")?.holder).toBe("h1");
    table.clear();
    table.set("a", held("a", "h1", 1));
    expect(plain(table.get("a"))).toEqual(held("a", "h1", 1));
  });
});

describe("KeyTable.insert", () => {
  it("adds a key like set(), and refuses a key that is there, changing nothing", () => {
    const table = new KeyTable();
    table.set("a", held("a", "x", 1));
    table.set("b", held("b", "y", 2));
    table.delete("a"); // a free slot: insert must take it exactly as set() would
    expect(table.insert("c", held("c", "z", 3))).toBe(true);
    expect(table.insert("b", held("b", "w", 9))).toBe(false);
    expect(plain(table.get("b"))).toEqual(held("b", "y", 2));
    expect(plain(table.get("c"))).toEqual(held("c", "z", 3));
    expect(table.insert("d", held("d", null, 4))).toBe(true);
    table.set("c", held("c", "x", 5));
    expect(plain(table.get("c"))).toEqual(held("c", "x", 5));
    expect(plain(table.get("d"))).toEqual(held("d", null, 4));
    expect(table.size).toBe(3);
  });
});
