import { describe, expect, it } from "vitest";
import { checkLockLiveness } from "../../../src/checkers/lock/lock-liveness.js";

describe("liveness after heal", () => {
  const base = { healMs: 1000, boundMs: 500 };

  it("accepts calls that completed and keys taken within the bound", () => {
    expect(
      checkLockLiveness({
        ...base,
        calls: [{ client: "c1", what: "lock k", startedMs: 900, settledMs: 1200 }],
        probes: [{ key: "k", grantedMs: 1499 }],
      }),
    ).toBeNull();
  });

  it("finds a request that never completed", () => {
    const violation = checkLockLiveness({
      ...base,
      calls: [{ client: "c1", what: "lock k", startedMs: 900, settledMs: null }],
      probes: [{ key: "k", grantedMs: 1100 }],
    });
    expect(violation?.property).toBe("lockLiveness");
    expect(violation?.message).toMatch(/c1's lock k .* had not completed 500 ms after/);
  });

  it("finds a key that could not be taken again in time", () => {
    const late = checkLockLiveness({
      ...base,
      calls: [],
      probes: [{ key: "k", grantedMs: 1501 }],
    });
    expect(late?.message).toMatch(/key "k" could not be taken within 500 ms/);
    const never = checkLockLiveness({
      ...base,
      calls: [],
      probes: [{ key: "k", grantedMs: null }],
    });
    expect(never?.property).toBe("lockLiveness");
  });

  it("excuses a semaphore key only when the replicated limits forbid the probe's permits", () => {
    const refusedProbe = (permitsMaxInForce: number | null) => ({
      ...base,
      calls: [{ client: "probe", what: "probe s", startedMs: 1100, settledMs: 1120 }],
      probes: [
        {
          key: "s",
          grantedMs: null,
          permitsRefusal: { permits: 3, atMs: 1120, permitsMaxInForce },
        },
      ],
    });
    expect(checkLockLiveness(refusedProbe(2))).toBeNull();
    expect(checkLockLiveness(refusedProbe(3))?.message).toMatch(
      /key "s": the probe's semaphore acquire of 3 permits was refused at 1120.0 ms, though the replicated limits in force allowed 3/,
    );
    expect(checkLockLiveness(refusedProbe(null))?.message).toMatch(/no setLimits entry applied/);
  });
});
