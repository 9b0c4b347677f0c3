// Issue 3, "what it must show" #7: the README's client example (examples/quick-start.mjs) runs
// as written, from the repository root, against a real three-node cluster.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import { REPO_ROOT, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

const EXAMPLE = join(REPO_ROOT, "examples/quick-start.mjs");

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("example");
});

afterAll(async () => {
  await test?.dispose();
});

function runExample(
  endpoints: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EXAMPLE], {
      cwd: REPO_ROOT,
      env: { ...process.env, DLOCK_ENDPOINTS: endpoints },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("examples/quick-start.mjs", () => {
  it("is the example the README shows, character for character", async () => {
    const { readFile } = await import("node:fs/promises");
    const [readme, example] = await Promise.all([
      readFile(join(REPO_ROOT, "README.md"), "utf8"),
      readFile(EXAMPLE, "utf8"),
    ]);
    expect(readme).toContain("```js\n" + example + "```\n");
  });

  it("acquires, works with the fencing token, releases and exits 0", async () => {
    const endpoints = test.cluster.endpoints().join(",");
    const first = await runExample(endpoints);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const token = Number(
      /acquired reports\/daily with fencing token (\d+)/.exec(first.stdout)?.[1],
    );
    expect(token).toBeGreaterThan(0);
    for (const step of [1, 2, 3])
      expect(first.stdout).toContain(`step ${step} written with token ${token}`);
    expect(first.stdout).toContain("released: true\n");

    // It released the lock: a second run gets it at once, with a larger token.
    const second = await runExample(endpoints);
    expect(second.code).toBe(0);
    const secondToken = Number(/with fencing token (\d+)/.exec(second.stdout)?.[1]);
    expect(secondToken).toBeGreaterThan(token);

    const locker = new Locker({ endpoints: test.cluster.endpoints() });
    try {
      expect(await locker.get("reports/daily")).toMatchObject({ held: false });
    } finally {
      await locker.close();
    }
  });
});
