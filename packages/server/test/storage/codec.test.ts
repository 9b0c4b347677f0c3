import { describe, expect, it } from "vitest";
import type { Entry } from "@dlock/raft";
import {
  decodeEntry,
  decodeHardState,
  encodeEntry,
  encodeHardState,
  decodeUint64,
  encodeUint64,
} from "../../src/storage/codec.js";
import { StorageError } from "../../src/storage/errors.js";

describe("storage codec", () => {
  const entries: Entry[] = [
    { index: 7, term: 3, kind: "normal", data: new Uint8Array([1, 2, 3]) },
    { index: 8, term: 3, kind: "normal", data: new Uint8Array(0) },
    { index: 9, term: 4, kind: "noop", data: new Uint8Array(0) },
    {
      index: 10,
      term: 4,
      kind: "config",
      data: new Uint8Array(0),
      change: { type: "addLearner", nodeId: "n4", context: new Uint8Array([9, 9]) },
    },
    {
      index: 11,
      term: 2 ** 40,
      kind: "config",
      data: new Uint8Array(0),
      change: { type: "remove", nodeId: "nœud-ü" },
    },
    {
      index: 12,
      term: 5,
      kind: "config",
      data: new Uint8Array(0),
      change: { type: "promote", nodeId: "n4", context: new Uint8Array(0) },
    },
  ];

  it("round-trips every entry kind", () => {
    for (const entry of entries) {
      expect(decodeEntry(entry.index, encodeEntry(entry))).toEqual(entry);
    }
  });

  it("round-trips hard states with and without a vote", () => {
    for (const state of [
      { term: 0, vote: null, commit: 0 },
      { term: 12, vote: "n2", commit: 2 ** 50 },
    ]) {
      expect(decodeHardState(encodeHardState(state))).toEqual(state);
    }
  });

  it("keeps uint64 keys in numeric order as bytes", () => {
    const values = [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    for (const v of values) expect(decodeUint64(encodeUint64(v))).toBe(v);
    for (let i = 1; i < values.length; i++) {
      expect(Buffer.compare(encodeUint64(values[i - 1]), encodeUint64(values[i]))).toBe(-1);
    }
  });

  it("rejects truncated and garbage records with CORRUPT", () => {
    const bad = [
      new Uint8Array(0),
      new Uint8Array([0, 1, 2]),
      new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 0]),
      encodeEntry(entries[3]).subarray(0, 14),
    ];
    for (const bytes of bad) {
      expect(() => decodeEntry(1, bytes)).toThrowError(StorageError);
      try {
        decodeEntry(1, bytes);
      } catch (error) {
        expect((error as StorageError).code).toBe("CORRUPT");
      }
    }
    expect(() => decodeHardState(new Uint8Array(5))).toThrowError(/hard state/);
  });
});
