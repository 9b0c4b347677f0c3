import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { samePlainData } from "../../src/lock/same-data.js";

// The simulator compares apply results with samePlainData where it used to compare their JSON
// texts: it must agree with that comparison on plain data.
describe("samePlainData", () => {
  it("agrees with comparing JSON texts", () => {
    // Small value spaces so that equal pairs are common; keys in one order, so that JSON texts
    // of equal objects are equal too.
    const leaf = fc.oneof(fc.constantFrom(0, 1, "a", "b", true, false, null), fc.integer());
    const data = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
      array: fc.array(tie("value"), { maxLength: 3 }),
      object: fc.record(
        { k: tie("value"), type: fc.constantFrom("granted", "queued"), next: tie("value") },
        { requiredKeys: ["type"] },
      ),
    })).value;
    let equalPairs = 0;
    fc.assert(
      fc.property(data, data, fc.boolean(), (a, b, copy) => {
        const other = copy ? structuredClone(a) : b;
        const expected = JSON.stringify(a) === JSON.stringify(other);
        if (expected) equalPairs++;
        expect(samePlainData(a, other)).toBe(expected);
        expect(samePlainData(other, a)).toBe(expected);
      }),
      { seed: 7, numRuns: 2_000 },
    );
    expect(equalPairs).toBeGreaterThan(500);
  });

  it("treats undefined properties as absent, as JSON does", () => {
    expect(samePlainData({ type: "x", grants: undefined }, { type: "x" })).toBe(true);
    expect(samePlainData({ type: "x" }, { type: "x", next: null })).toBe(false);
    expect(samePlainData({ type: "x", next: null }, { type: "x" })).toBe(false);
  });

  it("tells apart arrays from objects and values of other types", () => {
    expect(samePlainData([1], { 0: 1 })).toBe(false);
    expect(samePlainData({ 0: 1 }, [1])).toBe(false);
    expect(samePlainData(1, "1")).toBe(false);
    expect(samePlainData(null, {})).toBe(false);
    expect(samePlainData({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
  });
});
