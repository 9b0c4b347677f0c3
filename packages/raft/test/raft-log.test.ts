import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../src/index.js";
import { RaftLog } from "../src/raft-log.js";
import type { Entry } from "../src/index.js";

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  kind: "normal",
  data: new Uint8Array([index, term]),
});

function logWith(terms: number[]): { storage: MemoryStorage; log: RaftLog } {
  const storage = new MemoryStorage({ voters: ["a"], learners: [] });
  storage.append(terms.map((term, i) => entry(i + 1, term)));
  return { storage, log: new RaftLog(storage, 0, 0) };
}

describe("RaftLog", () => {
  it("reads terms across storage and the unstable tail", () => {
    const { log } = logWith([1, 1, 2]);
    log.append([entry(4, 3), entry(5, 3)]);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => log.term(i))).toEqual([0, 1, 1, 2, 3, 3, -1]);
    expect(log.lastIndex()).toBe(5);
    expect(log.persistedLastIndex()).toBe(3);
  });

  it("findConflict returns the first new or conflicting index", () => {
    const { log } = logWith([1, 1, 2]);
    expect(log.findConflict([entry(2, 1), entry(3, 2)])).toBe(0);
    expect(log.findConflict([entry(2, 1), entry(3, 3)])).toBe(3);
    expect(log.findConflict([entry(3, 2), entry(4, 2)])).toBe(4);
  });

  it("findConflictByTerm skips a whole term", () => {
    const { log } = logWith([1, 1, 2, 2, 2, 4, 4]);
    expect(log.findConflictByTerm(7, 3)).toEqual({ index: 5, term: 2 });
    expect(log.findConflictByTerm(7, 1)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 7, term: 4 });
    expect(log.findConflictByTerm(2, 0)).toEqual({ index: 0, term: 0 });
  });

  it("refuses to overwrite committed entries", () => {
    const { log } = logWith([1, 1, 1]);
    log.commitTo(3);
    expect(() => log.append([entry(3, 2)])).toThrow(/committed/);
  });

  it("an acknowledged write only vouches for what a later overwrite left of it (A-B-A)", () => {
    const { storage, log } = logWith([1, 1, 1, 1]);
    // Write 1: (5,t2) (6,t2) (7,t2). Write 2 replaces 6.. with (6,t3). Write 3 puts (6,t2) back:
    // the same (index, term) as write 1, but a different write that is not durable yet.
    const w1 = [entry(5, 2), entry(6, 2), entry(7, 2)];
    log.append(w1);
    log.beginWrite(1, 7, 0);
    log.append([entry(6, 3)]);
    log.beginWrite(2, 6, 0);
    log.append([entry(6, 2)]);
    log.beginWrite(3, 6, 0);

    storage.append(w1);
    log.completeWrite(1);
    // Only index 5 is both written by write 1 and still in the log unchanged by later writes.
    expect(log.persistedLastIndex()).toBe(5);
    expect(log.term(6)).toBe(2);

    storage.append([entry(6, 3)]);
    log.completeWrite(2);
    expect(log.persistedLastIndex()).toBe(5);

    storage.append([entry(6, 2)]);
    log.completeWrite(3);
    expect(log.persistedLastIndex()).toBe(6);
    expect(log.term(6)).toBe(2);
    expect(log.term(7)).toBe(-1);
  });

  it("rejects advance out of order", () => {
    const { log } = logWith([1]);
    log.beginWrite(1, 0, 0);
    log.beginWrite(2, 0, 0);
    expect(() => log.completeWrite(2)).toThrow(/out of order/);
  });

  it("slices across storage and unstable within a byte budget, at least one entry", () => {
    const { log } = logWith([1, 1]);
    log.append([entry(3, 1), entry(4, 1)]);
    expect(log.slice(1, 5, 1_000).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(log.slice(1, 5, 4).map((e) => e.index)).toEqual([1, 2]);
    expect(log.slice(2, 5, 5).map((e) => e.index)).toEqual([2, 3]);
    expect(log.slice(3, 5, 0).map((e) => e.index)).toEqual([3]);
  });
});
