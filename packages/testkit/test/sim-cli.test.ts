import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planArbitrary } from "../src/plan-arbitrary.js";
import { main, parseDurationMs, parseSimArgs } from "../src/sim-cli.js";

function capture(argv: string[]): { code: number; output: string } {
  const lines: string[] = [];
  const code = main(argv, (line) => lines.push(line));
  return { code, output: lines.join("\n") };
}

describe("sim CLI", () => {
  it("parses its flags and durations", () => {
    const options = parseSimArgs([
      "--schedules",
      "20",
      "--nodes",
      "5",
      "--bug",
      "voteWithoutLogCheck",
    ]);
    expect(options.schedules).toBe(20);
    expect(options.nodeCounts).toEqual([5]);
    expect(options.plantedBugs).toEqual({ voteWithoutLogCheck: true });
    expect(parseDurationMs("10m")).toBe(600_000);
    expect(parseDurationMs("90s")).toBe(90_000);
    expect(parseDurationMs("250")).toBe(250);
    expect(parseSimArgs(["--seed=-5", "--path=1:2"]).seed).toBe(-5);
  });

  it("rejects bad usage with exit code 2 and a message naming the flag", () => {
    expect(capture(["--nodes", "4"])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/--nodes/),
    });
    expect(capture(["--schedules", "0"]).code).toBe(2);
    expect(capture(["--schedules", "5", "--duration", "1m"]).code).toBe(2);
    expect(capture(["--bug", "nonsense"]).output).toMatch(/--bug must be one of/);
    expect(capture(["--path", "1:2"]).output).toMatch(/--path needs --seed/);
    expect(capture(["--duration", "soon"]).code).toBe(2);
    expect(capture(["--frobnicate"]).code).toBe(2);
  });

  it("runs schedules and prints the summary the issue asks for", () => {
    const { code, output } = capture(["--schedules", "12", "--seed", "4"]);
    expect(code).toBe(0);
    expect(output).toMatch(/schedules run: +12 /);
    expect(output).toMatch(/faults injected: +crash \d+, pause \d+, partition \d+/);
    expect(output).toMatch(/elections: +\d+/);
    expect(output).toMatch(/entries committed: +\d+/);
    expect(output).toMatch(/throughput: +\d+ schedules\/minute/);
  });

  it("replays a plan file and exits 1 on its violation", () => {
    const [plan] = fc.sample(planArbitrary({ profile: "slowDisk" }), { seed: 1, numRuns: 1 });
    const dir = mkdtempSync(join(tmpdir(), "dlock-sim-"));
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.json");
    writeFileSync(good, JSON.stringify({ plan }));
    writeFileSync(
      bad,
      JSON.stringify({ plan: { ...plan, plantedBugs: { acknowledgeBeforePersist: true } } }),
    );
    expect(capture(["--plan", good])).toMatchObject({
      code: 0,
      output: expect.stringMatching(/no violation/),
    });
    const replay = capture(["--plan", bad]);
    expect(replay.code).toBe(1);
    expect(replay.output).toMatch(/VIOLATION commitDurability/);
    expect(capture(["--plan", join(dir, "missing.json")]).code).toBe(2);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify({ plan: { ...plan, dropPermille: 5000 } }));
    expect(capture(["--plan", broken])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/dropPermille must be ≤ 1000/),
    });
  });
});
