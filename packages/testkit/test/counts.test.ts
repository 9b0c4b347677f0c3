import { describe, expect, it } from "vitest";
import { mergeCounts } from "../src/counts.js";

describe("mergeCounts", () => {
  it("adds counts, keeps the larger of a ...Max field and adds nested records key by key", () => {
    const into = { runs: 2, recoveryMsMax: 40, faults: { crash: 1, pause: 0 }, byNode: { 3: 1 } };
    const from = { runs: 3, recoveryMsMax: 25, faults: { crash: 2, pause: 4 }, byNode: { 5: 2 } };
    mergeCounts<{
      runs: number;
      recoveryMsMax: number;
      faults: { crash: number; pause: number };
      byNode: Record<number, number>;
    }>(into, from);
    expect(into).toEqual({
      runs: 5,
      recoveryMsMax: 40,
      faults: { crash: 3, pause: 4 },
      byNode: { 3: 1, 5: 2 },
    });
    expect(from.faults).toEqual({ crash: 2, pause: 4 });
  });
});
