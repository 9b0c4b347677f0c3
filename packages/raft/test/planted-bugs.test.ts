import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../src/index.js";
import { plantedBugsOf, withPlantedBugs } from "../src/internal.js";

const base: RaftConfig = { id: "n1", random: () => 0.5 };
const none = {
  commitPreviousTermByCounting: false,
  voteWithoutLogCheck: false,
  acknowledgeBeforePersist: false,
};

describe("planted bugs (internal entry only)", () => {
  it("a public config carries none, even with a 'plantedBugs' field smuggled in", () => {
    expect(plantedBugsOf(base)).toEqual(none);
    const smuggled = JSON.parse('{"id":"n1","plantedBugs":{"voteWithoutLogCheck":true}}');
    expect(plantedBugsOf({ ...smuggled, random: () => 0.5 } as RaftConfig)).toEqual(none);
  });

  it("withPlantedBugs sets them, and a host's spread of the config keeps them", () => {
    const planted = withPlantedBugs(base, { voteWithoutLogCheck: true });
    const spread: RaftConfig = { ...planted, electionTicks: 20 };
    expect(plantedBugsOf(spread)).toEqual({ ...none, voteWithoutLogCheck: true });
    expect(plantedBugsOf(base)).toEqual(none);
  });
});
