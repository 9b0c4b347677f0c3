import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Entry } from "@dlock/raft";
import { encodedEntryBytes } from "../../src/storage/codec.js";
import { EncodedLog } from "../../src/storage/encoded-log.js";
import { propertySeed } from "../lock/helpers.js";

/** An entry with `bytes` of data filled with a pattern of its index, so mix-ups show. */
function normal(index: number, term: number, bytes: number): Entry {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (index * 31 + i) & 0xff;
  return { index, term, kind: "normal", data };
}

function plain(entry: Entry): Entry {
  const out: Entry = {
    index: entry.index,
    term: entry.term,
    kind: entry.kind,
    data: new Uint8Array(entry.data),
  };
  if (entry.change !== undefined) out.change = entry.change;
  return out;
}

/** Byte comparison: toEqual walks a 300 KB array element by element. */
function expectSame(actual: Entry, expected: Entry): void {
  expect([actual.index, actual.term, actual.kind]).toEqual([
    expected.index,
    expected.term,
    expected.kind,
  ]);
  expect(Buffer.from(actual.data).equals(Buffer.from(expected.data))).toBe(true);
}

describe("EncodedLog", () => {
  it("reads back what was appended, by index and term, with config and no-op entries", () => {
    const log = new EncodedLog(5);
    const entries: Entry[] = [
      normal(5, 1, 3),
      { index: 6, term: 2, kind: "noop", data: new Uint8Array(0) },
      {
        index: 7,
        term: 2,
        kind: "config",
        data: new Uint8Array(0),
        change: { type: "addLearner", nodeId: "n4", context: new Uint8Array([1]) },
      },
    ];
    for (const entry of entries) log.stage(entry);
    log.appendStaged(3);
    log.commitStaged();
    expect(log.firstIndex()).toBe(5);
    expect(log.length()).toBe(3);
    expect([5, 6, 7].map((i) => plain(log.entry(i)))).toEqual(entries);
    expect([5, 6, 7].map((i) => log.term(i))).toEqual([1, 2, 2]);
    expect(log.encodedBytes()).toBe(entries.reduce((sum, e) => sum + encodedEntryBytes(e), 0));
    expect(() => log.entry(8)).toThrow(RangeError);
    expect(() => log.term(4)).toThrow(RangeError);
  });

  it("never overwrites a committed entry's bytes when staging after a discarded batch", () => {
    const log = new EncodedLog(1);
    log.stage(normal(1, 1, 100));
    log.appendStaged(1);
    log.commitStaged();
    const view = log.entry(1);
    log.stage(normal(2, 1, 100));
    log.discardStaged();
    log.stage(normal(2, 2, 50));
    log.appendStaged(1);
    log.commitStaged();
    expect(plain(view)).toEqual(normal(1, 1, 100));
    expect(plain(log.entry(2))).toEqual(normal(2, 2, 50));
  });

  it("behaves as a plain list of entries through staging, failures, truncation, drops and resets", () => {
    const seed = propertySeed("EncodedLog against a list");
    const step = fc.oneof(
      fc.record({
        op: fc.constant("write" as const),
        // Where the batch starts, as a distance back from lastIndex + 1 (0: a plain append).
        back: fc.oneof(fc.constant(0), fc.nat(6)),
        sizes: fc.array(
          fc.oneof(
            { weight: 8, arbitrary: fc.nat(200) },
            { weight: 2, arbitrary: fc.integer({ min: 20_000, max: 120_000 }) },
            { weight: 1, arbitrary: fc.integer({ min: 262_000, max: 300_000 }) },
          ),
          { minLength: 1, maxLength: 6 },
        ),
        fails: fc.boolean(),
      }),
      fc.record({ op: fc.constant("drop" as const), through: fc.nat(10) }),
      fc.record({ op: fc.constant("reset" as const), ahead: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const log = new EncodedLog(1);
        let first = 1;
        let model: Entry[] = [];
        let term = 1;
        // Views handed out earlier must keep their bytes whatever happens to the log later.
        const handedOut: Array<{ view: Entry; expected: Entry }> = [];
        for (const s of steps) {
          const last = first + model.length - 1;
          if (s.op === "write") {
            const start = Math.max(first, last + 1 - s.back);
            term++;
            const batch = s.sizes.map((bytes, i) => normal(start + i, term, bytes));
            for (const entry of batch) log.stage(entry);
            if (s.fails) {
              log.discardStaged();
            } else {
              log.truncateFrom(start);
              log.appendStaged(batch.length);
              log.commitStaged();
              model = model.slice(0, start - first).concat(batch);
            }
          } else if (s.op === "drop") {
            const through = Math.min(last, first - 1 + s.through);
            log.dropThrough(through);
            model = model.slice(through - first + 1);
            first = Math.max(first, through + 1);
          } else {
            first = last + 1 + s.ahead;
            log.reset(first);
            model = [];
          }
          expect(log.firstIndex()).toBe(first);
          expect(log.length()).toBe(model.length);
          expect(log.encodedBytes()).toBe(model.reduce((sum, e) => sum + encodedEntryBytes(e), 0));
          for (const entry of model) {
            expect(log.term(entry.index)).toBe(entry.term);
            expectSame(log.entry(entry.index), entry);
          }
          if (model.length > 0) {
            const entry = model[model.length - 1]!;
            handedOut.push({ view: log.entry(entry.index), expected: entry });
          }
          for (const { view, expected } of handedOut) expectSame(view, expected);
        }
      }),
      { seed, numRuns: 100 },
    );
  });
});
