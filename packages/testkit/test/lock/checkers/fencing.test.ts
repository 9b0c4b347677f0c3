import { describe, expect, it } from "vitest";
import { checkFencing, tokenRegressions } from "../../../src/checkers/lock/fencing.js";
import { belief, grant, grantsOf, write } from "./helpers.js";

describe("fencing", () => {
  const grants = grantsOf(grant("a.1.1", 5, 100), grant("b.1.1", 9, 400));

  it("accepts increasing tokens and a resource that saw them in order", () => {
    const writes = [
      write("a", 5, 150, 160, true),
      write("b", 9, 420, 425, true),
      // A's write issued before B's but delayed: rejected by the resource, fine.
      write("a", 5, 390, 430, false),
    ];
    expect(checkFencing(grants, writes)).toBeNull();
  });

  it("finds tokens that do not increase in commit order", () => {
    const bad = grantsOf(grant("a.1.1", 9, 100), grant("b.1.1", 5, 400));
    expect(checkFencing(bad, [])?.message).toMatch(/token 5, not above the earlier grant's 9/);
  });

  it("finds a resource that accepted an earlier grant's write after a later grant's", () => {
    const writes = [write("b", 9, 420, 425, true), write("a", 5, 390, 430, true)];
    expect(checkFencing(grants, writes)?.message).toMatch(
      /accepted a's write .*token 5.* after b's write of a later grant/,
    );
  });

  it("finds an accepted write whose token no grant carries", () => {
    expect(checkFencing(grants, [write("c", 7, 200, 210, true)])?.message).toMatch(
      /token 7 .*no committed grant/,
    );
  });

  it("leaves a zombie's unchecked write with an old token to the resource", () => {
    // a wrote with its old token after b's grant, without checking its lock: rejected, fine.
    const writes = [write("b", 9, 420, 425, true), write("a", 5, 430, 431, false, false)];
    expect(checkFencing(grants, writes)).toBeNull();
  });

  it("finds a believed-valid holder sending a lower token after a higher one was sent", () => {
    // Both believed they held the lock: b wrote with 9 at 420, then a still wrote with 5 at 430.
    const writes = [write("b", 9, 420, 425, true), write("a", 5, 430, 431, false)];
    expect(checkFencing(grants, writes)?.message).toMatch(
      /a believed it held token 5 and wrote at 430\.000 ms, after b had written with token 9/,
    );
  });

  describe("from the clients' beliefs alone (the chaos runs)", () => {
    it("accepts tokens that grow over beliefs that follow each other, and a renewal", () => {
      const beliefs = [
        belief("a", 5, 100, 200, { endMs: 180 }),
        // a renewed the same grant: a new belief in the same token from where the first ended.
        belief("a", 5, 180, 300, { endMs: 250 }),
        belief("b", 9, 260, 400),
      ];
      expect(tokenRegressions(beliefs)).toEqual([]);
    });

    it("finds a lower token, and another client's same token, after a belief ended", () => {
      const beliefs = [
        belief("a", 9, 100, 200, { endMs: 150 }),
        belief("b", 5, 160, 300),
        belief("c", 9, 400, 500),
      ];
      const found = tokenRegressions(beliefs).map((violation) => violation.message);
      expect(found).toHaveLength(2);
      expect(found[0]).toMatch(/token 5 was granted to b at 160\.000 ms, after token 9 of a/);
      expect(found[1]).toMatch(/token 9 was granted to c/);
      expect(tokenRegressions(beliefs, 1)).toHaveLength(1);
    });

    it("ignores beliefs still running and those that started before the other ended", () => {
      const beliefs = [
        belief("a", 9, 100, Number.POSITIVE_INFINITY),
        belief("b", 5, 120, 300, { endMs: 200 }),
      ];
      expect(tokenRegressions(beliefs)).toEqual([]);
    });
  });
});
