import { describe, expect, it } from "vitest";
import { formatClientCost, measureClientCost } from "../src/bench/client-cost.js";

describe("client cost", () => {
  it("drives lock and release cycles through a Locker against the answering node", async () => {
    // A window long enough that a loaded machine's pauses (a 100 ms stall is not rare on 2 busy
    // cores) still leave cycles in it: the assertions are about the probe working, not its speed.
    const cost = await measureClientCost({ loops: 4, windowMs: 600 });
    expect(cost.serial.loops).toBe(1);
    expect(cost.shared.loops).toBe(4);
    for (const run of [cost.serial, cost.shared]) {
      // Every cycle is a granted lock() and a release() answered by the node in another process.
      expect(run.cyclesPerSecond).toBeGreaterThan(0);
      expect(run.cpuUsPerCycle).toBeGreaterThan(0);
      expect(run.systemUsPerCycle).toBeLessThanOrEqual(run.cpuUsPerCycle);
      expect(run.cycleP50Ms).toBeGreaterThan(0);
    }
    expect(formatClientCost(cost)).toMatch(/4 loops on one Locker: [\d.]+ µs of client CPU/);
  });
});
