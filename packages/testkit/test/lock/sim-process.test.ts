import { describe, expect, it } from "vitest";
import { AsyncWorld } from "../../src/lock/async-world.js";
import { SimProcessClock, wallClockView } from "../../src/lock/sim-process.js";
import { SimWorld } from "../../src/world.js";
import { FakeProcess } from "./fake-process.js";

describe("process clocks", () => {
  it("run at their rate from their origin, and time their timers on it", async () => {
    const world = new AsyncWorld(new SimWorld(1));
    const fast = new SimProcessClock(world, new FakeProcess("p"), 1.01, 5000);
    expect(fast.now()).toBe(5000);
    let firedAtClock = 0;
    let firedAtTrue = 0;
    fast.setTimeout(() => {
      firedAtClock = fast.now();
      firedAtTrue = world.nowMs;
    }, 101);
    await world.runUntil(1000);
    // 101 ms on a clock 1 % fast is 100 ms of true time, and never before the clock reads 5101.
    expect(firedAtTrue).toBeCloseTo(100, 6);
    expect(firedAtClock).toBeGreaterThanOrEqual(5101);
    expect(fast.toTrueMs(5101)).toBeCloseTo(100, 9);
  });

  it("never fire early, and treat delays below 1 ms as 1 ms (as Node does)", async () => {
    const world = new AsyncWorld(new SimWorld(1));
    const clock = new SimProcessClock(world, new FakeProcess("p"), 0.995, 123.456);
    const early: number[] = [];
    for (let i = 0; i < 200; i++) {
      const delayMs = i * 0.37;
      const target = clock.now() + Math.max(1, delayMs);
      clock.setTimeout(() => {
        if (clock.now() < target) early.push(i);
      }, delayMs);
    }
    let zeroFiredAt = -1;
    clock.setTimeout(() => {
      zeroFiredAt = world.nowMs;
    }, 0);
    await world.runUntil(1000);
    expect(early).toEqual([]);
    expect(zeroFiredAt).toBeCloseTo(1 / 0.995, 6);
  });

  it("hold timers while the process is paused and drop them when it crashes", async () => {
    const world = new AsyncWorld(new SimWorld(1));
    const process = new FakeProcess("p");
    const clock = new SimProcessClock(world, process, 1, 0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`paused one at ${world.nowMs}`), 10);
    process.status = "paused";
    await world.runUntil(50);
    expect(fired).toEqual([]);
    process.resume();
    expect(fired).toEqual(["paused one at 50"]);
    clock.setTimeout(() => fired.push("lost"), 10);
    process.incarnation++;
    const cleared = clock.setTimeout(() => fired.push("cleared"), 10);
    clock.clearTimeout(cleared);
    await world.runUntil(100);
    expect(fired).toEqual(["paused one at 50"]);
  });

  it("keep monotonic time through wall-clock jumps", () => {
    const world = new AsyncWorld(new SimWorld(1));
    const clock = new SimProcessClock(world, new FakeProcess("p"), 1, 100);
    const wall = wallClockView(clock);
    clock.jumpWall(-3_600_000);
    expect(clock.now()).toBe(100);
    expect(wall.now()).toBe(100 - 3_600_000);
    expect(clock.jumps).toBe(1);
  });
});
