import { describe, expect, it } from "vitest";
import { validUntilMs } from "../src/internal.js";

const base = {
  sentAtMs: 1_000,
  repliedAtMs: 1_400,
  ttlMs: 10_000,
  waitedMs: 0,
  driftFactor: 0.01,
  marginMs: 5,
};

describe("validUntilMs", () => {
  it("counts from the send time, less drift and margin", () => {
    expect(validUntilMs(base)).toBe(1_000 + 9_900 - 5);
  });

  it("adds the leader's lower bound on the queue wait, also less drift", () => {
    expect(validUntilMs({ ...base, waitedMs: 2_000 })).toBe(1_000 + 12_000 * 0.99 - 5);
  });

  it("is later with each planted bug (so the simulator can catch them)", () => {
    const none = {
      ignoreDrift: false,
      timerFromReply: false,
      observeFromListRevision: false,
      observeOneChangePerRevision: false,
    };
    const honest = validUntilMs({ ...base, plantedBugs: none });
    expect(validUntilMs({ ...base, plantedBugs: { ...none, ignoreDrift: true } })).toBe(11_000);
    expect(validUntilMs({ ...base, plantedBugs: { ...none, timerFromReply: true } })).toBe(
      honest + 400,
    );
  });
});
