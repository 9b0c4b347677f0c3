// docs/cli.md works as written: every ```sh block (except those marked `docs-test: skip`) runs,
// in order, in one `sh -e` from the repository root against a real cluster, and a ```text block
// right after an sh block matches what that block printed (numbers, durations, roles and the
// health of each member aside, in the status table and in its JSON). The README's sh blocks are
// mostly install and start commands: there, only those marked `docs-test: run` run (its shell
// lines for each primitive).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const DOC = join(REPOSITORY, "docs", "cli.md");
const README = join(REPOSITORY, "README.md");
const SKIP_MARK = "<!-- docs-test: skip";
const RUN_MARK = "<!-- docs-test: run";

interface Example {
  script: string;
  /** The ```text block that follows it, if any. */
  expected: string | null;
  line: number;
}

/**
 * The runnable sh blocks of a markdown text, each with the text block right after it: every one
 * not marked skip, or with `markedOnly`, only those marked run.
 */
export function examplesOf(markdown: string, markedOnly = false): Example[] {
  const lines = markdown.split("\n");
  const examples: Example[] = [];
  let skipNext = markedOnly;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith(SKIP_MARK)) skipNext = true;
    if (lines[i].startsWith(RUN_MARK)) skipNext = false;
    if (lines[i] !== "```sh") continue;
    const end = lines.indexOf("```", i + 1);
    const script = lines.slice(i + 1, end).join("\n");
    let next = end + 1;
    while (lines[next] === "") next++;
    let expected: string | null = null;
    if (lines[next] === "```text") {
      const textEnd = lines.indexOf("```", next + 1);
      expected = lines.slice(next + 1, textEnd).join("\n");
    }
    if (!skipNext) examples.push({ script, expected, line: i + 1 });
    skipNext = markedOnly;
    i = end;
  }
  return examples;
}

/** Output with what legitimately differs between runs made alike. */
function normalize(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .replace(/\b(leader|follower)\b/g, "ROLE")
        .replace(/ (yes|no) /g, " HEALTHY ")
        .replace(/"healthy":(true|false)/g, '"healthy":HEALTHY')
        .replace(/\b\d+(\.\d+)?(ms|h|m|s)(\d+(ms|m|s))*\b/g, "DURATION")
        .replace(/\d+/g, "N")
        .replace(/\s+/g, " ")
        .trim(),
    )
    .filter((line) => line !== "")
    .join("\n");
}

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("docs");
});

afterAll(async () => {
  await test?.stop();
});

/** Runs `examples` in one shell against the test cluster and checks each against its output. */
async function runExamples(examples: Example[], file: string): Promise<void> {
  const marker = (index: number) => `@@example ${index}@@`;
  // One shell for all, so that PATH and variables carry over from block to block as they
  // would in a terminal; stderr joins stdout to keep the order in which lines appear.
  const script = [
    "exec 2>&1",
    ...examples.map((example, index) => `echo "${marker(index)}"\n${example.script}`),
  ].join("\n");
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    // The only change from a reader's terminal: the cluster is this test's, not pnpm start's.
    const shell = spawn("sh", ["-e", "-c", script], { cwd: REPOSITORY, env: test.env });
    let output = "";
    shell.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    shell.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    shell.once("close", (code) => resolve({ code, output }));
  });
  expect(result.code, result.output).toBe(0);
  const outputs = result.output.split(/@@example \d+@@\n/).slice(1);
  expect(outputs).toHaveLength(examples.length);
  examples.forEach((example, index) => {
    if (example.expected === null) return;
    expect(normalize(outputs[index]), `example at ${file}:${example.line}`).toBe(
      normalize(example.expected),
    );
  });
}

describe("docs/cli.md", () => {
  it("has examples, and they run as written with the outputs shown", async () => {
    const examples = examplesOf(await readFile(DOC, "utf8"));
    expect(examples.length).toBeGreaterThanOrEqual(8);
    await runExamples(examples, "docs/cli.md");
  });
});

describe("README.md", () => {
  it("its shell lines for every primitive run as written with the outputs shown", async () => {
    const examples = examplesOf(await readFile(README, "utf8"), true);
    expect(examples.length).toBeGreaterThanOrEqual(1);
    for (const command of ["acquire", "get", "list", "semaphore", "elect", "watch"]) {
      expect(examples.map((e) => e.script).join("\n")).toContain(`dlock ${command} `);
    }
    await runExamples(examples, "README.md");
  });
});
