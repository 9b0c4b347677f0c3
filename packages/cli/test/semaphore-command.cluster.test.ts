// `dlock semaphore KEY --permits N -- command` and `dlock acquire --permits` as real processes
// against a real three-node cluster: never more than N commands inside at once, the permit
// environment, and typed refusals when a key is used with another N or as another kind.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runDlock, startDlock, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

let test: TestCluster;
let dir: string;

beforeAll(async () => {
  test = await startTestCluster("semaphore");
});

afterAll(async () => {
  await test?.stop();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dlock-semaphore-work-"));
  return () => rm(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ ...test.env, WORK: dir });

/**
 * Takes one of two slots (mkdir is atomic); finding both taken means a third holder is inside
 * with two others, and is recorded. Each run logs its token, N and k.
 */
const SECTION = `
if mkdir "$WORK/slot0" 2>/dev/null; then slot=slot0
elif mkdir "$WORK/slot1" 2>/dev/null; then slot=slot1
else echo "overflow $DLOCK_FENCING_TOKEN" >> "$WORK/log"; exit 0; fi
echo "in $DLOCK_FENCING_TOKEN $DLOCK_PERMITS $DLOCK_PERMIT_COUNT" >> "$WORK/log"
sleep 0.3
rmdir "$WORK/$slot"
`;

describe("dlock semaphore", () => {
  it("runs at most N commands at once, each with its permit environment", async () => {
    const runs = Array.from({ length: 5 }, () =>
      startDlock(
        ["semaphore", "pool", "--permits", "2", "--wait", "60s", "--", "sh", "-c", SECTION],
        env(),
      ),
    );
    const results = await Promise.all(runs.map((run) => run.done));
    for (const result of results) {
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    }
    const lines = (await readFile(join(dir, "log"), "utf8")).trimEnd().split("\n");
    expect(lines.filter((line) => line.startsWith("overflow"))).toStrictEqual([]);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^in \d+ 2 1$/);
    const get = await runDlock(["get", "pool", "--json"], test.env);
    expect(JSON.parse(get.stdout)).toMatchObject({ held: false });
  });

  it("refuses another N, and a lock on a semaphore's key, saying what to do", async () => {
    const first = await runDlock(
      ["acquire", "jobs", "w1", "--permits", "3", "--count", "2", "--json"],
      test.env,
    );
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ key: "jobs", value: "w1" });
    const busy = await runDlock(
      ["acquire", "jobs", "w2", "--permits", "3", "--count", "2"],
      test.env,
    );
    expect(busy.code).toBe(3);
    const second = await runDlock(["acquire", "jobs", "w2", "--permits", "3"], test.env);
    expect(second.code).toBe(0);
    // list shows the permits held and who holds how many, in the table and in --json.
    const listed = await runDlock(["list", "jobs", "--json"], test.env);
    expect(listed.code).toBe(0);
    const [shown] = (JSON.parse(listed.stdout) as { locks: Array<{ semaphore?: unknown }> }).locks;
    expect(shown?.semaphore).toMatchObject({
      permits: 3,
      held: 3,
      holders: [
        { value: "w1", count: 2 },
        { value: "w2", count: 1 },
      ],
    });
    expect((await runDlock(["list", "jobs"], test.env)).stdout).toMatch(
      /^jobs +semaphore 3\/3: w1×2, w2×1 +\d+ +0$/m,
    );
    const mismatch = await runDlock(["acquire", "jobs", "w3", "--permits", "4"], test.env);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain("SEMAPHORE_PERMITS_MISMATCH");
    expect(mismatch.stderr).toContain("use the same permits");
    const kind = await runDlock(["lock", "jobs", "--", "true"], test.env);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain("KIND_MISMATCH");
    const usage = await runDlock(["semaphore", "jobs", "--", "true"], test.env);
    expect(usage.code).toBe(2);
    for (const value of ["w1", "w2"]) {
      expect((await runDlock(["release", "jobs", value], test.env)).code).toBe(0);
    }
    // Free again: any N is fine now.
    expect((await runDlock(["acquire", "jobs", "w3", "--permits", "4"], test.env)).code).toBe(0);
  });
});

describe("examples/semaphore.mjs", () => {
  const example = join(REPO_ROOT, "examples/semaphore.mjs");

  it("is the example the README shows, character for character", async () => {
    const [readme, text] = await Promise.all([
      readFile(join(REPO_ROOT, "README.md"), "utf8"),
      readFile(example, "utf8"),
    ]);
    expect(readme).toContain("```js\n" + text + "```\n");
  });

  it("runs six workers on two permits and exits 0", async () => {
    const endpoints = test.cluster.endpoints().join(",");
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, [example], {
          cwd: REPO_ROOT,
          env: { ...process.env, DLOCK_ENDPOINTS: endpoints },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        child.once("error", reject);
        child.once("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^worker \d encoding with fencing token \d+$/gm)).toHaveLength(6);
    expect(result.stdout).toContain("all six workers done");
  });
});
