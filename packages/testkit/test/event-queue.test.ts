import { describe, expect, it } from "vitest";
import { EventQueue, QueuedEvent } from "../src/event-queue.js";
import { Prng } from "../src/prng.js";
import { SimWorld } from "../src/world.js";

describe("EventQueue", () => {
  it("pops by time, then by insertion order for equal times", () => {
    const queue = new EventQueue();
    const order: string[] = [];
    queue.push(5, () => order.push("b"));
    queue.push(1, () => order.push("a"));
    queue.push(5, () => order.push("c"));
    queue.push(9, () => order.push("d"));
    queue.push(5, () => order.push("e"));
    while (queue.size > 0) queue.pop()!.run();
    expect(order).toEqual(["a", "b", "c", "e", "d"]);
  });

  it("orders event objects and closures alike, by time and then by when they were queued", () => {
    const queue = new EventQueue();
    const order: string[] = [];
    class Named extends QueuedEvent {
      constructor(private readonly name: string) {
        super();
      }
      run(): void {
        order.push(this.name);
      }
    }
    queue.push(5, () => order.push("b"));
    queue.pushEvent(5, new Named("c"));
    queue.pushEvent(1, new Named("a"));
    queue.push(5, () => order.push("d"));
    queue.pushEvent(9, new Named("e"));
    while (queue.size > 0) queue.pop()!.run();
    expect(order).toEqual(["a", "b", "c", "d", "e"]);
    expect(() => queue.pushEvent(Number.POSITIVE_INFINITY, new Named("x"))).toThrow(RangeError);
  });

  it("keeps order over many random insertions", () => {
    const queue = new EventQueue();
    const random = new Prng(11);
    for (let i = 0; i < 2000; i++) queue.push(random.int(0, 100), () => {});
    let last = { timeMs: -1, sequence: -1 };
    while (queue.size > 0) {
      const event = queue.pop()!;
      const ordered =
        event.timeMs > last.timeMs ||
        (event.timeMs === last.timeMs && event.sequence > last.sequence);
      expect(ordered).toBe(true);
      last = event;
    }
  });

  it("pops what a sorted list would while it grows and shrinks (seed 12)", () => {
    const queue = new EventQueue();
    const model: { timeMs: number; sequence: number }[] = [];
    const random = new Prng(12);
    let sequence = 0;
    for (let step = 0; step < 20_000; step++) {
      // Phases of mostly pushes and mostly pops, so the queue's size swings up and down.
      const pushShare = Math.floor(step / 1000) % 2 === 0 ? 0.7 : 0.3;
      if (model.length === 0 || random.chance(pushShare)) {
        const timeMs = random.int(0, 50);
        queue.push(timeMs, () => {});
        model.push({ timeMs, sequence: sequence++ });
        continue;
      }
      model.sort((x, y) => x.timeMs - y.timeMs || x.sequence - y.sequence);
      const expected = model.shift()!;
      const event = queue.pop()!;
      expect([event.timeMs, event.sequence]).toEqual([expected.timeMs, expected.sequence]);
      expect(queue.size).toBe(model.length);
    }
  });

  it("rejects non-finite times", () => {
    expect(() => new EventQueue().push(Number.NaN, () => {})).toThrow(RangeError);
  });
});

describe("SimWorld", () => {
  it("advances virtual time event by event and stops when asked", () => {
    const world = new SimWorld(1);
    const times: number[] = [];
    world.after(10, () => times.push(world.nowMs));
    world.after(5, () => {
      times.push(world.nowMs);
      world.after(1, () => times.push(world.nowMs));
    });
    world.after(50, () => times.push(world.nowMs));
    expect(world.runUntil(20)).toBe(true);
    expect(times).toEqual([5, 6, 10]);
    expect(world.nowMs).toBe(20);
    expect(world.runUntil(100, () => true)).toBe(false);
    expect(times).toEqual([5, 6, 10, 50]);
  });
});
