import { describe, expect, it } from "vitest";
import { ReadIndexChecker } from "../../src/checkers/read-index.js";

describe("ReadIndexChecker", () => {
  it("accepts reads served at or after what was committed when they started", () => {
    const checker = new ReadIndexChecker();
    checker.observeReadStarted(1, 10);
    checker.observeReadStarted(2, 12);
    checker.observeReadState("n1", 1, 10);
    checker.observeReadState("n1", 2, 15);
    checker.observeReadStarted(3, 20);
    checker.observeReadDropped(3);
    expect(checker.readsServed).toBe(2);
  });

  it("reports a stale read (a deposed leader answering from its old commit index)", () => {
    const checker = new ReadIndexChecker();
    checker.observeReadStarted(7, 30);
    expect(() => checker.observeReadState("n2", 7, 29)).toThrow(
      /linearizableRead: n2 served read 7 at index 29, but index 30 was committed/,
    );
  });

  it("reports an answer to a read nobody started", () => {
    expect(() => new ReadIndexChecker().observeReadState("n1", 99, 1)).toThrow(/never asked/);
  });
});
