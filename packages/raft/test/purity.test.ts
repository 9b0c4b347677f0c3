// A second guard next to the eslint purity rule: the core's sources must not name a clock, a
// timer, a random source, the process or an I/O module. Comments are stripped first so prose that
// mentions them ("no Date inside") does not count.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /\bDate\b/, why: "clock" },
  { pattern: /\bperformance\b/, why: "clock" },
  { pattern: /\bMath\.random\b/, why: "randomness" },
  { pattern: /\bcrypto\b/, why: "randomness" },
  { pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, why: "timer" },
  { pattern: /\bprocess\b/, why: "process access" },
  { pattern: /\bfetch\s*\(/, why: "network" },
  {
    pattern: /from\s+["'](node:|fs|net|os|timers|child_process|level|classic-level)/,
    why: "I/O import",
  },
  { pattern: /\brequire\s*\(/, why: "dynamic import of anything" },
  { pattern: /\bimport\s*\(/, why: "dynamic import of anything" },
];

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

describe("purity of packages/raft/src", () => {
  const files = readdirSync(SRC).filter((name) => name.endsWith(".ts"));

  it("scans every source file", () => {
    expect(files).toContain("raw-node.ts");
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of files) {
    it(`${file} names no clock, timer, random source, process or I/O`, () => {
      const code = stripComments(readFileSync(join(SRC, file), "utf8"));
      const hits = FORBIDDEN.filter(({ pattern }) => pattern.test(code)).map(
        ({ pattern, why }) => `${why}: ${pattern}`,
      );
      expect(hits).toEqual([]);
    });
  }

  it("the scanner itself catches a violation", () => {
    const code = stripComments("const now = Date.now(); // fine comment about Date");
    expect(FORBIDDEN.some(({ pattern }) => pattern.test(code))).toBe(true);
    expect(FORBIDDEN.some(({ pattern }) => pattern.test(stripComments("// Date")))).toBe(false);
  });
});
