import { describe, expect, it } from "vitest";
import { runHostCatchUp } from "../../src/lock/host-catch-up.js";
import { hostCatchUpFailure } from "../../src/lock/host-cli.js";
import { cli } from "../../src/sim-cli.js";

const SEEDS = [1, 2, 3, 4, 5];

// A planted bug in the production host's catch-up path, which only real processes found before:
// the simulator runs RaftHost itself now, so its catch-up check finds it.
describe("planted host bugs are found", () => {
  it("compactWhileSendingSnapshot: a follower cut off past a compaction never catches up", async () => {
    const failures: string[] = [];
    for (const seed of SEEDS) {
      const result = await runHostCatchUp({
        seed,
        plantedBugs: { compactWhileSendingSnapshot: true },
      });
      const failure = hostCatchUpFailure(result);
      if (failure !== null) failures.push(`seed ${seed}: ${failure}`);
    }
    console.log(`host catch-up with the bug, seeds ${SEEDS.join(",")}:`, failures);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(/did not catch up/);
  });

  it("the same schedules pass with the switch off", async () => {
    for (const seed of SEEDS) {
      const result = await runHostCatchUp({ seed });
      expect(hostCatchUpFailure(result), `seed ${seed}`).toBeNull();
      expect(result.snapshotsInstalled, `seed ${seed}`).toBeGreaterThan(0);
    }
  });

  it("pnpm sim --host-catch-up finds it and prints the replay command", async () => {
    const lines: string[] = [];
    const code = await cli(
      ["--host-catch-up", "--schedules", "3", "--bug", "compactWhileSendingSnapshot"],
      (line) => lines.push(line),
    );
    expect(code).toBe(1);
    expect(lines.join("\n")).toMatch(
      /replay: pnpm sim --host-catch-up --seed 1 --bug compactWhileSendingSnapshot/,
    );
    const clean: string[] = [];
    expect(await cli(["--host-catch-up", "--schedules", "3"], (line) => clean.push(line))).toBe(0);
  });
});
