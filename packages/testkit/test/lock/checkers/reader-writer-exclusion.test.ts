import { describe, expect, it } from "vitest";
import { checkReaderWriterExclusion } from "../../../src/checkers/lock/reader-writer-exclusion.js";
import type { RwBelief } from "../../../src/checkers/lock/reader-writer-exclusion.js";

let nextId = 0;
/** A belief of `mode` over [startMs, endMs), with token = startMs unless given. */
function rw(
  mode: "read" | "write",
  startMs: number,
  endMs: number,
  options: { token?: number; validUntilMs?: number; key?: string } = {},
): RwBelief {
  const client = `${mode}${nextId}`;
  return {
    id: nextId++,
    client,
    key: options.key ?? "k",
    value: client,
    token: options.token ?? startMs,
    startMs,
    extensions: [{ atMs: startMs, validUntilMs: options.validUntilMs ?? endMs + 1_000 }],
    endMs,
    endReason: "released",
    mode,
  };
}

describe("checkReaderWriterExclusion", () => {
  it("accepts overlapping readers (one token shared), writers alone, intervals that touch", () => {
    expect(
      checkReaderWriterExclusion([
        rw("read", 0, 100, { token: 1 }),
        rw("read", 10, 120, { token: 1 }),
        rw("write", 120, 200),
        rw("read", 200, 300),
        rw("write", 50, 60, { key: "other" }),
      ]),
    ).toBeNull();
  });

  it("finds a reader overlapping a writer, and a writer overlapping a writer", () => {
    const reader = checkReaderWriterExclusion([rw("write", 0, 100), rw("read", 99, 150)]);
    expect(reader?.property).toBe("readerWriterExclusion");
    expect(reader?.message).toContain("both believed held");
    const writer = checkReaderWriterExclusion([rw("write", 0, 100), rw("write", 50, 60)]);
    expect(writer?.property).toBe("readerWriterExclusion");
  });

  it("ends a belief when its validity ran out, even if the release came later", () => {
    expect(
      checkReaderWriterExclusion([
        rw("read", 0, 500, { validUntilMs: 100 }),
        rw("write", 100, 200),
      ]),
    ).toBeNull();
  });

  it("finds a later writer whose fencing token is not greater", () => {
    const violation = checkReaderWriterExclusion([
      rw("read", 0, 100, { token: 7 }),
      rw("write", 100, 200, { token: 7 }),
    ]);
    expect(violation?.message).toContain("fencing token is not greater");
  });
});
