import { describe, expect, it } from "vitest";
import { LogMatchingChecker } from "../../src/checkers/log-matching.js";
import { makeLog } from "./helpers.js";

describe("LogMatchingChecker", () => {
  it("accepts logs that agree wherever they share (index, term), and diverging later terms", () => {
    const checker = new LogMatchingChecker();
    checker.observeEntries("n1", makeLog([1, 1, 2, 2]));
    checker.observeEntries("n2", makeLog([1, 1, 2]));
    // n3 diverges at index 3 with a different term: allowed (Figure 7 followers).
    checker.observeEntries("n3", makeLog([1, 1, 3, 3], "x").slice(2));
    expect(checker.chainOf(3, 2)).toBe(makeLog([1, 1, 2])[2].chain);
  });

  it("reports the same (index, term) after different prefixes", () => {
    const checker = new LogMatchingChecker();
    checker.observeEntries("n1", makeLog([1, 1, 2]));
    // Same terms everywhere, but index 2 carries other data: index 3 (term 2) now stands for a
    // different prefix.
    const other = makeLog([1, 1, 2], "other");
    expect(() => checker.observeEntries("n2", other)).toThrow(/logMatching: n2 holds entry/);
  });

  it("reports a snapshot of an entry no log ever held", () => {
    const checker = new LogMatchingChecker();
    checker.observeEntries("n1", makeLog([1, 1]));
    expect(checker.observeSnapshot("n2", 2, 1)).toBe(makeLog([1, 1])[1].chain);
    expect(() => checker.observeSnapshot("n2", 2, 5)).toThrow(/no log ever held/);
  });
});
