// `dlock rwlock KEY --read|--write -- command`, `dlock acquire --read/--write` and
// examples/rwlock.mjs as real processes against a real three-node cluster: readers share the
// key, a writer runs alone, and a key of another kind is refused with what to do.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDlock, runNodeScript, startDlock, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("rwlock");
});

afterAll(async () => {
  await test?.stop();
});

/**
 * Logs "<mode> start" and "<mode> end" around a short sleep; a writer that finds anyone inside
 * (the "inside" directory's entries) records an overlap.
 */
const SECTION = `
mkdir -p "$WORK/inside"
if [ "$DLOCK_RW_MODE" = write ] && [ -n "$(ls "$WORK/inside")" ]; then echo overlap >> "$WORK/log"; fi
touch "$WORK/inside/$DLOCK_LOCK_VALUE"
echo "$DLOCK_RW_MODE $DLOCK_FENCING_TOKEN" >> "$WORK/log"
sleep 0.3
if [ "$DLOCK_RW_MODE" = read ] && [ -e "$WORK/inside/writer" ]; then echo overlap >> "$WORK/log"; fi
rm "$WORK/inside/$DLOCK_LOCK_VALUE"
`;

describe("dlock rwlock", () => {
  it("runs readers together and the writer alone, each with its mode in the environment", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dlock-rwlock-work-"));
    try {
      const env = { ...test.env, WORK: dir };
      const run = (mode: string, value: string) =>
        startDlock(
          ["rwlock", "catalog", `--${mode}`, "--value", value, "--wait", "60s", "--"].concat([
            "sh",
            "-c",
            SECTION,
          ]),
          env,
        ).done;
      const results = await Promise.all([
        run("read", "r1"),
        run("read", "r2"),
        run("write", "writer"),
        run("read", "r3"),
      ]);
      for (const result of results) {
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
      }
      const lines = (await readFile(join(dir, "log"), "utf8")).trimEnd().split("\n");
      expect(lines).not.toContain("overlap");
      expect(lines.filter((line) => line.startsWith("read "))).toHaveLength(3);
      expect(lines.filter((line) => line.startsWith("write "))).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("acquires once with --json, refuses a writer while read, and a lock on the rw key", async () => {
    const read = await runDlock(["acquire", "docs", "r1", "--read", "--json"], test.env);
    expect(read.code).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ key: "docs", value: "r1" });
    expect((await runDlock(["acquire", "docs", "r2", "--read"], test.env)).code).toBe(0);
    expect((await runDlock(["acquire", "docs", "w", "--write"], test.env)).code).toBe(3);
    // get shows the readers, each in its mode, not a semaphore's permits.
    const readers = await runDlock(["get", "docs", "--json"], test.env);
    expect(readers.code).toBe(0);
    const shown = JSON.parse(readers.stdout) as {
      semaphore?: unknown;
      rw: { mode: string; holders: { value: string; mode: string }[] };
    };
    expect(shown.semaphore).toBeUndefined();
    expect(shown.rw.mode).toBe("read");
    expect(shown.rw.holders.map((h) => [h.value, h.mode]).sort()).toEqual([
      ["r1", "read"],
      ["r2", "read"],
    ]);
    expect((await runDlock(["get", "docs"], test.env)).stdout).toMatch(/held by readers/);
    // list shows the same readers, in the table and in --json.
    const listed = await runDlock(["list", "docs", "--json"], test.env);
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as {
      locks: Array<{ key: string; rw?: { mode: string; holders: { value: string }[] } }>;
    };
    expect(page.locks.map((l) => [l.key, l.rw?.mode])).toEqual([["docs", "read"]]);
    expect(page.locks[0]?.rw?.holders.map((h) => h.value).sort()).toEqual(["r1", "r2"]);
    expect((await runDlock(["list", "docs"], test.env)).stdout).toMatch(
      /^docs +readers: r[12], r[12] +\d+ +0$/m,
    );
    const kind = await runDlock(["lock", "docs", "--", "true"], test.env);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain("KIND_MISMATCH");
    expect(kind.stderr).toContain("readLock() / writeLock()");
    expect((await runDlock(["rwlock", "docs", "--", "true"], test.env)).code).toBe(2);
    for (const value of ["r1", "r2"])
      expect((await runDlock(["release", "docs", value], test.env)).code).toBe(0);
    expect((await runDlock(["acquire", "docs", "w", "--write"], test.env)).code).toBe(0);
    const writer = JSON.parse((await runDlock(["get", "docs", "--json"], test.env)).stdout);
    expect(writer).toMatchObject({
      value: "w",
      rw: { mode: "write", holders: [{ value: "w", mode: "write" }] },
    });
  });
});

describe("examples/rwlock.mjs", () => {
  const example = join(REPO_ROOT, "examples/rwlock.mjs");

  it("is in the README as written, and runs: four readers share, the writer is alone", async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    expect(readme).toContain("```js\n" + (await readFile(example, "utf8")) + "```\n");
    const endpoints = test.cluster.endpoints().join(",");
    const result = await runNodeScript(example, { ...process.env, DLOCK_ENDPOINTS: endpoints });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^reader \d in, \d reading$/gm)).toHaveLength(4);
    expect(result.stdout).toMatch(/^writer in alone \(0 reading\), fencing token \d+$/m);
    expect(result.stdout).toContain("done: readers shared the catalog");
  });
});
