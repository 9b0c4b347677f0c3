import type { Entry, Snapshot } from "@dlock/raft";
import { CompactedError, UnavailableError } from "@dlock/raft";
import { describe, expect, it } from "vitest";
import { Prng } from "../src/prng.js";
import { SimStorage, SimStorageError } from "../src/sim-storage.js";

const conf = { voters: ["n1", "n2", "n3"], learners: [] };

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, kind: "normal", data: new TextEncoder().encode(text) };
}

function entries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
}

describe("SimStorage", () => {
  it("serves what was written at once (page cache) and reports bootstrap membership", () => {
    const storage = new SimStorage(conf);
    expect(storage.initialState().confState.voters).toEqual(["n1", "n2", "n3"]);
    storage.writeEntries(entries(1, 5, 1));
    storage.writeHardState({ term: 1, vote: "n1", commit: 3 });
    expect(storage.lastIndex()).toBe(5);
    expect(storage.firstIndex()).toBe(1);
    expect(storage.term(3)).toBe(1);
    expect(storage.entries(2, 5, 1_000).map((e) => e.index)).toEqual([2, 3, 4]);
    expect(storage.entries(2, 5, 1).map((e) => e.index)).toEqual([2]);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: "n1", commit: 3 });
    expect(() => storage.term(6)).toThrow(UnavailableError);
    expect(() => storage.entries(1, 7, 100)).toThrow(UnavailableError);
  });

  it("loses every unsynced write in a crash that keeps nothing", () => {
    const storage = new SimStorage(conf);
    storage.writeEntries(entries(1, 3, 1));
    storage.writeHardState({ term: 1, vote: "n2", commit: 0 });
    storage.syncThrough(storage.lastWriteSequence);
    storage.writeEntries(entries(4, 6, 2));
    storage.writeHardState({ term: 2, vote: "n3", commit: 2 });
    expect(storage.lastIndexOf("durable")).toBe(3);
    const loss = storage.crash(new Prng(1), 0);
    expect(loss).toEqual({ unsyncedWrites: 2, survivedWrites: 0, torn: false });
    expect(storage.lastIndex()).toBe(3);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: "n2", commit: 0 });
  });

  it("keeps a prefix of unsynced writes, possibly torn inside a batch, never a gap", () => {
    let tornSeen = false;
    for (let seed = 0; seed < 200; seed++) {
      const storage = new SimStorage(conf);
      storage.writeEntries(entries(1, 2, 1));
      storage.syncThrough(storage.lastWriteSequence);
      storage.writeEntries(entries(3, 8, 2));
      storage.writeHardState({ term: 2, vote: null, commit: 0 });
      // tornRate 1: the crash always keeps a random prefix of the unsynced writes.
      const loss = storage.crash(new Prng(seed), 1);
      tornSeen ||= loss.torn;
      const last = storage.lastIndex();
      expect(last).toBeGreaterThanOrEqual(3);
      expect(last).toBeLessThanOrEqual(8);
      // The hard state was written after the entries: it survives only with all of them.
      if (storage.initialState().hardState.term === 2) expect(last).toBe(8);
      for (let i = 1; i <= last; i++) expect(storage.chainAt(i)).toBeDefined();
    }
    expect(tornSeen).toBe(true);
  });

  it("replaces a conflicting suffix and recomputes its chain", () => {
    const a = new SimStorage(conf);
    const b = new SimStorage(conf);
    a.writeEntries(entries(1, 4, 1));
    b.writeEntries(entries(1, 4, 1));
    expect(a.chainAt(4)).toBe(b.chainAt(4));
    b.writeEntries([entry(3, 2, "other")]);
    expect(b.lastIndex()).toBe(3);
    expect(b.chainAt(2)).toBe(a.chainAt(2));
    expect(b.chainAt(3)).not.toBe(a.chainAt(3));
    expect(() => b.writeEntries([entry(9, 2)])).toThrow(SimStorageError);
  });

  it("compacts behind a durable snapshot and serves its term at the boundary", () => {
    const storage = new SimStorage(conf);
    storage.writeEntries(entries(1, 10, 1));
    const snapshot: Snapshot = {
      metadata: { index: 6, term: 1, confState: conf },
      data: new Uint8Array([1]),
    };
    expect(() => storage.compact(snapshot)).toThrow(SimStorageError); // not durable yet
    storage.syncThrough(storage.lastWriteSequence);
    const chainAt6 = storage.chainAt(6);
    storage.compact(snapshot);
    expect(storage.firstIndex()).toBe(7);
    expect(storage.term(6)).toBe(1);
    expect(storage.chainAt(6)).toBe(chainAt6);
    expect(storage.chainAt(5)).toBeUndefined();
    expect(() => storage.term(5)).toThrow(CompactedError);
    expect(() => storage.entries(6, 8, 100)).toThrow(CompactedError);
    storage.crash(new Prng(1), 0);
    expect(storage.snapshot().metadata.index).toBe(6);
    expect(storage.lastIndex()).toBe(10);
  });

  it("installs a leader's snapshot, replacing the log, durable only once synced", () => {
    const storage = new SimStorage(conf);
    storage.writeEntries(entries(1, 3, 1));
    storage.syncThrough(storage.lastWriteSequence);
    const snapshot: Snapshot = {
      metadata: { index: 20, term: 3, confState: conf },
      data: new Uint8Array([7]),
    };
    storage.writeSnapshot(snapshot, 12345);
    expect(storage.lastIndex()).toBe(20);
    expect(storage.chainAt(20)).toBe(12345);
    storage.crash(new Prng(5), 0);
    expect(storage.lastIndex()).toBe(3);
  });
});
