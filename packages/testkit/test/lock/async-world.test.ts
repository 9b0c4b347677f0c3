import { describe, expect, it } from "vitest";
import { AsyncWorld } from "../../src/lock/async-world.js";
import { SimWorld } from "../../src/world.js";

/** A promise chain `hops` continuations long, ending with `done()`. */
async function chain(hops: number, done: () => void): Promise<void> {
  for (let i = 0; i < hops; i++) await Promise.resolve();
  queueMicrotask(done);
}

describe("AsyncWorld", () => {
  it("runs every continuation a touched event started before the next event", async () => {
    const world = new AsyncWorld(new SimWorld(1));
    const seen: string[] = [];
    // More touched events than drains between two event-loop turns, so both kinds of drain run.
    for (let i = 0; i < 3000; i++) {
      world.world.at(i, () => {
        world.touch();
        void chain(50 + (i % 7), () => seen.push(`done ${i}`));
      });
      world.world.at(i, () => seen.push(`next ${i}`));
    }
    await world.runUntil(3000);
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) expected.push(`done ${i}`, `next ${i}`);
    expect(seen).toEqual(expected);
  });

  it("runs immediates after the continuations queued before them, at the same instant", async () => {
    const world = new AsyncWorld(new SimWorld(1));
    const seen: string[] = [];
    world.world.at(5, () => {
      world.touch();
      void chain(20, () => seen.push(`chain at ${world.nowMs}`));
      world.immediate(() => seen.push(`immediate at ${world.nowMs}`));
    });
    world.world.at(5, () => seen.push(`next event at ${world.nowMs}`));
    await world.runUntil(10);
    expect(seen).toEqual(["chain at 5", "immediate at 5", "next event at 5"]);
  });

  it("lets the real event loop turn during a long run", async () => {
    const world = new AsyncWorld(new SimWorld(1));
    let loopTurned = false;
    setImmediate(() => {
      loopTurned = true;
    });
    let turnedBeforeEventMs = -1;
    for (let i = 0; i < 5000; i++) {
      world.world.at(i, () => {
        world.touch();
        if (loopTurned && turnedBeforeEventMs < 0) turnedBeforeEventMs = i;
      });
    }
    await world.runUntil(5000);
    expect(turnedBeforeEventMs).toBeGreaterThan(0);
    expect(turnedBeforeEventMs).toBeLessThan(5000);
  });
});
