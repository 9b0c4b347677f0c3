// `dlock semaphore KEY --permits N -- command` and `dlock acquire --permits` as real processes
// against a real three-node cluster: never more than N commands inside at once, the permit
// environment, and typed refusals when a key is used with another N or as another kind.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runDlock, startDlock, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

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
