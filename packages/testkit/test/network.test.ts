import { describe, expect, it } from "vitest";
import { SimNetwork } from "../src/network.js";
import type { NetworkFaults } from "../src/network.js";
import { Prng } from "../src/prng.js";
import { SimWorld } from "../src/world.js";

const calm: NetworkFaults = {
  delayMsMin: 1,
  delayMsMax: 3,
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMaxMs: 0,
};

function setup(faults: NetworkFaults) {
  const world = new SimWorld(1);
  const network = new SimNetwork<number>(world, new Prng(2), faults);
  const received: [string, number][] = [];
  network.register("b", (payload, from) => received.push([from, payload]));
  network.register("a", (payload, from) => received.push([from, payload]));
  return { world, network, received };
}

describe("SimNetwork", () => {
  it("delivers within the delay bounds", () => {
    const { world, network, received } = setup(calm);
    network.send("a", "b", 1);
    world.runUntil(0.99);
    expect(received).toEqual([]);
    world.runUntil(3);
    expect(received).toEqual([["a", 1]]);
  });

  it("loses everything on a cut link, in that direction only, until mended", () => {
    const { world, network, received } = setup(calm);
    network.cut("a", "b");
    network.send("a", "b", 1);
    network.send("b", "a", 2);
    world.runUntil(10);
    expect(received).toEqual([["b", 2]]);
    network.cut("a", "b");
    network.mend("a", "b");
    network.send("a", "b", 3);
    world.runUntil(20);
    expect(received).toEqual([["b", 2]]);
    network.mend("a", "b");
    network.send("a", "b", 4);
    world.runUntil(30);
    expect(received).toEqual([
      ["b", 2],
      ["a", 4],
    ]);
    expect(network.stats.blocked).toBe(2);
  });

  it("loses a message in flight when its link is cut before delivery", () => {
    const { world, network, received } = setup(calm);
    network.send("a", "b", 1);
    network.cut("a", "b");
    world.runUntil(10);
    expect(received).toEqual([]);
  });

  it("drops, duplicates and reorders at the configured rates", () => {
    const { world, network, received } = setup({
      ...calm,
      dropRate: 0.2,
      duplicateRate: 0.1,
      reorderRate: 0.3,
      reorderDelayMaxMs: 50,
    });
    for (let i = 0; i < 5000; i++) network.send("a", "b", i);
    world.runUntil(1000);
    const { dropped, duplicated } = network.stats;
    expect(dropped).toBeGreaterThan(800);
    expect(dropped).toBeLessThan(1200);
    expect(duplicated).toBeGreaterThan(300);
    expect(received.length).toBe(5000 - dropped + duplicated);
    const payloads = received.map(([, payload]) => payload);
    const inversions = payloads.filter((p, i) => i > 0 && p < payloads[i - 1]).length;
    expect(inversions).toBeGreaterThan(100);
  });

  it("loses messages to an unregistered address and validates its faults", () => {
    const { world, network, received } = setup(calm);
    network.send("a", "nobody", 1);
    world.runUntil(10);
    expect(received).toEqual([]);
    expect(() => network.setFaults({ ...calm, dropRate: 2 })).toThrow(/dropRate/);
    expect(() => network.setFaults({ ...calm, delayMsMin: 5, delayMsMax: 1 })).toThrow(RangeError);
  });
});
