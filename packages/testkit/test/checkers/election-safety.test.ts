import { describe, expect, it } from "vitest";
import { ElectionSafetyChecker } from "../../src/checkers/election-safety.js";
import { SafetyViolation } from "../../src/checkers/violation.js";

describe("ElectionSafetyChecker", () => {
  it("accepts one leader per term, re-reported or not, and counts elections", () => {
    const checker = new ElectionSafetyChecker();
    checker.observeLeader("n1", 1);
    checker.observeLeader("n1", 1);
    checker.observeLeader("n2", 2);
    checker.observeLeader("n1", 3);
    expect(checker.elections).toBe(3);
  });

  it("reports two leaders in the same term", () => {
    const checker = new ElectionSafetyChecker();
    checker.observeLeader("n1", 4);
    checker.observeLeader("n2", 5);
    expect(() => checker.observeLeader("n3", 4)).toThrow(SafetyViolation);
    expect(() => checker.observeLeader("n3", 4)).toThrow(/two leaders in term 4: n1 and n3/);
  });
});
