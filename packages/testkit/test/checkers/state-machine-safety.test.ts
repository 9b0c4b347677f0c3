import { describe, expect, it } from "vitest";
import { StateMachineSafetyChecker } from "../../src/checkers/state-machine-safety.js";

describe("StateMachineSafetyChecker", () => {
  it("accepts the same state after the same index on every node", () => {
    const checker = new StateMachineSafetyChecker();
    checker.observeApplied("n1", 1, 11);
    checker.observeApplied("n2", 1, 11);
    checker.observeApplied("n1", 2, 22);
    checker.observeApplied("n3", 2, 22);
    expect(checker.observed).toBe(4);
  });

  it("reports a node whose state differs after applying the same index", () => {
    const checker = new StateMachineSafetyChecker();
    checker.observeApplied("n1", 5, 55);
    expect(() => checker.observeApplied("n2", 5, 56)).toThrow(
      /stateMachineSafety: n2's state after applying index 5 differs/,
    );
  });
});
