import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planArbitrary } from "../src/plan-arbitrary.js";
import { cli, parseDurationMs, withSubcommand } from "../src/sim-cli.js";

async function capture(argv: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await cli(argv, (line) => lines.push(line));
  return { code, output: lines.join("\n") };
}

describe("sim CLI", () => {
  it("parses durations and puts the subcommand first, accepting the older forms", () => {
    expect(parseDurationMs("10m")).toBe(600_000);
    expect(parseDurationMs("90s")).toBe(90_000);
    expect(parseDurationMs("250")).toBe(250);
    expect(withSubcommand(["--schedules", "20"])).toEqual(["raft", "--schedules", "20"]);
    expect(withSubcommand(["--locks", "--seed", "1"])).toEqual(["lock", "--seed", "1"]);
    expect(withSubcommand(["lock", "--seed", "1"])).toEqual(["lock", "--seed", "1"]);
    expect(withSubcommand(["replay", "f.json"])).toEqual(["replay", "f.json"]);
    expect(() => withSubcommand(["--drift=0.1"])).toThrow(/--drift is a lock simulator flag/);
  });

  it("rejects bad usage with exit code 2 and a message naming the flag", async () => {
    expect(await capture(["--nodes", "4"])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/--nodes/),
    });
    expect((await capture(["raft", "--schedules", "0"])).code).toBe(2);
    expect((await capture(["--schedules", "5", "--duration", "1m"])).code).toBe(2);
    expect((await capture(["--bug", "nonsense"])).output).toMatch(/--bug must be one of/);
    expect((await capture(["--path", "1:2"])).output).toMatch(/--path needs --seed/);
    expect((await capture(["--duration", "soon"])).code).toBe(2);
    expect(await capture(["--frobnicate"])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/unknown option '--frobnicate'/),
    });
    expect(await capture(["raft", "extra"])).toMatchObject({ code: 2 });
    expect(await capture(["--help"])).toMatchObject({
      code: 0,
      output: expect.stringMatching(/raft.*\n.*lock.*\n.*replay/s),
    });
    expect(await capture(["raft", "--help"])).toMatchObject({
      code: 0,
      output: expect.stringMatching(/--joiner.*voteWithoutLogCheck/s),
    });
  });

  it("takes every flag from its environment variable too", async () => {
    process.env.DLOCK_SIM_NODES = "4";
    try {
      expect(await capture(["raft", "--schedules", "1"])).toMatchObject({
        code: 2,
        output: expect.stringMatching(/--nodes takes 3, 5 or 3,5; got "4"/),
      });
    } finally {
      delete process.env.DLOCK_SIM_NODES;
    }
  });

  it("runs schedules and prints the summary the issue asks for", async () => {
    const { code, output } = await capture(["raft", "--schedules", "12", "--seed", "4"]);
    expect(code).toBe(0);
    expect(output).toMatch(/schedules run: +12 /);
    expect(output).toMatch(/faults injected: +crash \d+, pause \d+, partition \d+/);
    expect(output).toMatch(/elections: +\d+/);
    expect(output).toMatch(/entries committed: +\d+/);
    expect(output).toMatch(/throughput: +\d+ schedules\/minute/);
  });

  it("replays a plan file and exits 1 on its violation", async () => {
    const [plan] = fc.sample(planArbitrary({ profile: "slowDisk" }), { seed: 1, numRuns: 1 });
    const dir = mkdtempSync(join(tmpdir(), "dlock-sim-"));
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.json");
    writeFileSync(good, JSON.stringify({ plan }));
    writeFileSync(
      bad,
      JSON.stringify({ plan: { ...plan, plantedBugs: { acknowledgeBeforePersist: true } } }),
    );
    expect(await capture(["replay", good])).toMatchObject({
      code: 0,
      output: expect.stringMatching(/no violation/),
    });
    // The older form replays the same way.
    expect((await capture(["--plan", good])).output).toMatch(/no violation/);
    const replay = await capture(["replay", bad]);
    expect(replay.code).toBe(1);
    expect(replay.output).toMatch(/VIOLATION commitDurability/);
    expect((await capture(["replay", join(dir, "missing.json")])).code).toBe(2);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify({ plan: { ...plan, dropPermille: 5000 } }));
    expect(await capture(["replay", broken])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/dropPermille must be ≤ 1000/),
    });
  });
});
