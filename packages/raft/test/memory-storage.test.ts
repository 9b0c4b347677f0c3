import { describe, expect, it } from "vitest";
import { CompactedError, MemoryStorage, UnavailableError } from "../src/index.js";
import type { Entry } from "../src/index.js";

const entry = (index: number, term: number, size = 1): Entry => ({
  index,
  term,
  kind: "normal",
  data: new Uint8Array(size),
});

describe("MemoryStorage", () => {
  it("starts with the bootstrap membership and an empty log", () => {
    const s = new MemoryStorage({ voters: ["a", "b"], learners: ["c"] });
    expect(s.initialState().confState).toEqual({ voters: ["a", "b"], learners: ["c"] });
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
  });

  it("appends with suffix overwrite and rejects gaps", () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    s.append([entry(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(2);
    expect(() => s.append([entry(5, 2)])).toThrow(/gap/);
  });

  it("entries respects maxBytes but returns at least one", () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10)]);
    expect(s.entries(1, 4, 25)).toHaveLength(2);
    expect(s.entries(1, 4, 1)).toHaveLength(1);
    expect(() => s.entries(1, 5, 100)).toThrow(UnavailableError);
  });

  it("snapshots, then compacts only up to the snapshot", () => {
    const s = new MemoryStorage({ voters: ["a"], learners: [] });
    s.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
    expect(() => s.compact(2)).toThrow(/past the latest snapshot/);
    s.createSnapshot(3, { voters: ["a"], learners: [] }, new Uint8Array([7]));
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(1);
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(() => s.entries(2, 3, 100)).toThrow(CompactedError);
    expect(s.snapshot().metadata).toMatchObject({ index: 3, term: 2 });
    s.compact(3);
    expect(s.entries(4, 5, 100).map((e) => e.index)).toEqual([4]);
  });

  it("applySnapshot replaces the log", () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1)]);
    s.applySnapshot({
      metadata: { index: 10, term: 3, confState: { voters: ["x"], learners: [] } },
      data: new Uint8Array(0),
    });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(3);
    expect(s.initialState().confState.voters).toEqual(["x"]);
    s.append([entry(11, 3)]);
    expect(s.lastIndex()).toBe(11);
  });
});
