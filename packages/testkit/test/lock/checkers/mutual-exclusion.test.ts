import { describe, expect, it } from "vitest";
import {
  beliefOverlaps,
  checkMutualExclusion,
} from "../../../src/checkers/lock/mutual-exclusion.js";
import { beliefEndMs } from "../../../src/lock/lock-history.js";
import { belief, grant, grantsOf } from "./helpers.js";

describe("mutual exclusion in real time", () => {
  it("accepts a holder whose validity ends before the next grant", () => {
    const grants = grantsOf(grant("a.1.1", 5, 100), grant("b.1.1", 9, 400));
    const beliefs = [belief("a", 5, 110, 390), belief("b", 9, 420, 900)];
    expect(checkMutualExclusion(grants, beliefs)).toBeNull();
  });

  it("finds a holder that still trusts its lease when the next grant exists", () => {
    const grants = grantsOf(grant("a.1.1", 5, 100), grant("b.1.1", 9, 400));
    const beliefs = [belief("a", 5, 110, 405), belief("b", 9, 430, 900)];
    const violation = checkMutualExclusion(grants, beliefs);
    expect(violation?.property).toBe("mutualExclusion");
    expect(violation?.message).toMatch(/token 5 until 405\.000 .*token 9 .* 400\.000/);
  });

  it("counts a refresh only if it came before the validity ran out", () => {
    const grants = grantsOf(grant("a.1.1", 5, 100), grant("b.1.1", 9, 400));
    // Valid until 300; an extension to 600 arriving at 350 is too late: the lock was lost at 300.
    const late = belief("a", 5, 110, 300, { extensions: [[350, 600]] });
    expect(beliefEndMs(late)).toBe(300);
    expect(checkMutualExclusion(grants, [late])).toBeNull();
    // The same extension arriving at 250 keeps it alive past the next grant.
    const inTime = belief("a", 5, 110, 300, { extensions: [[250, 600]] });
    expect(beliefEndMs(inTime)).toBe(600);
    expect(checkMutualExclusion(grants, [inTime])?.property).toBe("mutualExclusion");
  });

  it("ends a belief at its release, before its validity", () => {
    const grants = grantsOf(grant("a.1.1", 5, 100), grant("b.1.1", 9, 400));
    const released = belief("a", 5, 110, 900, { endMs: 380 });
    expect(checkMutualExclusion(grants, [released])).toBeNull();
  });

  it("finds two clients that believe at once even without the grants", () => {
    const beliefs = [belief("a", 5, 100, 500), belief("b", 9, 450, 900)];
    const violation = checkMutualExclusion(new Map(), beliefs);
    expect(violation?.message).toMatch(/both believed they held it from 450\.000 to 500\.000/);
  });

  it("allows two beliefs in the same grant (a renewal) to overlap", () => {
    const beliefs = [belief("a", 5, 100, 500), belief("a", 5, 450, 900)];
    expect(checkMutualExclusion(grantsOf(grant("a.1.1", 5, 90)), beliefs)).toBeNull();
  });

  it("lists every overlap from the beliefs alone, up to a limit (the chaos runs)", () => {
    const beliefs = [
      belief("a", 5, 0, 1_000),
      belief("b", 9, 100, 150),
      belief("c", 12, 500, 600),
      belief("d", 14, 1_000, 1_100),
    ];
    const found = beliefOverlaps(beliefs).map((violation) => violation.message);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/a \(token 5\) and b \(token 9\) both believed/);
    expect(found[1]).toMatch(/a \(token 5\) and c \(token 12\) both believed/);
    expect(beliefOverlaps(beliefs, 1)).toHaveLength(1);
  });
});
