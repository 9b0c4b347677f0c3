import { describe, expect, it } from "vitest";
import {
  EVENT_LOOP_LAG_RESOLUTION_MS,
  EventLoopLag,
  lateMsOf,
} from "../../src/admin/event-loop-lag.js";

const MS = 1_000_000;

describe("event-loop lag", () => {
  it("reads the monitor's interval past its resolution as lateness", () => {
    // The monitor records whole intervals between its firings: an idle loop's sample is the
    // resolution itself, which is no lateness at all.
    expect(lateMsOf(EVENT_LOOP_LAG_RESOLUTION_MS * MS)).toBe(0);
    expect(lateMsOf(EVENT_LOOP_LAG_RESOLUTION_MS * MS + 0.25 * MS)).toBe(0.25);
    expect(lateMsOf(48 * MS)).toBe(48 - EVENT_LOOP_LAG_RESOLUTION_MS);
    // A timer never fires early, but a sample below the resolution must not read negative.
    expect(lateMsOf(EVENT_LOOP_LAG_RESOLUTION_MS * MS - 2 * MS)).toBe(0);
  });

  it("reports a turn that held the loop as at least that long past the resolution", async () => {
    const lag = new EventLoopLag();
    lag.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3 * EVENT_LOOP_LAG_RESOLUTION_MS));
      const heldMs = 60;
      const start = performance.now();
      while (performance.now() - start < heldMs) {
        // hold the loop
      }
      await new Promise((resolve) => setTimeout(resolve, 3 * EVENT_LOOP_LAG_RESOLUTION_MS));
      // The monitor's timer could not fire for heldMs, so one interval spans at least that.
      expect(lag.snapshot().maxMs).toBeGreaterThanOrEqual(heldMs - EVENT_LOOP_LAG_RESOLUTION_MS);
    } finally {
      lag.stop();
    }
  });
});
