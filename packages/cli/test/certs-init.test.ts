// `dlock certs init` reuses a CA only when both its files are there; with one of them alone it
// refuses, and overwrites nothing, instead of replacing a CA that certificates may chain to.
import { mkdtemp, readdir, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runInProcess } from "./support/run-in-process.js";

const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function initialized(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dlock-certs-init-"));
  dirs.push(dir);
  const run = await runInProcess(["certs", "init", "--dir", dir, "--nodes", "n1"]);
  expect(run.code).toBe(0);
  return dir;
}

/** Every file of `dir` with its text. */
async function contents(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  const texts = await Promise.all(names.map((name) => readFile(join(dir, name), "utf8")));
  return Object.fromEntries(names.map((name, i) => [name, texts[i]]));
}

describe("dlock certs init", () => {
  it("reuses the CA when ca.pem and ca-key.pem are both there", async () => {
    const dir = await initialized();
    const ca = await readFile(join(dir, "ca.pem"), "utf8");
    const run = await runInProcess(["certs", "init", "--dir", dir, "--nodes", "n2"]);
    expect(run.code).toBe(0);
    expect(await readFile(join(dir, "ca.pem"), "utf8")).toBe(ca);
  });

  it("refuses, changing nothing, when ca.pem is there without ca-key.pem", async () => {
    const dir = await initialized();
    await unlink(join(dir, "ca-key.pem"));
    const before = await contents(dir);
    const run = await runInProcess(["certs", "init", "--dir", dir, "--nodes", "n1,n2"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(dir, "ca.pem")} exists but ${join(dir, "ca-key.pem")}`);
    expect(run.stderr).toContain(`put its key at ${join(dir, "ca-key.pem")}`);
    expect(run.stderr).toContain(`remove ${join(dir, "ca.pem")}`);
    expect(await contents(dir)).toEqual(before);
  });

  it("refuses, changing nothing, when ca-key.pem is there without ca.pem", async () => {
    const dir = await initialized();
    await unlink(join(dir, "ca.pem"));
    const before = await contents(dir);
    const run = await runInProcess(["certs", "init", "--dir", dir, "--nodes", "n1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(dir, "ca-key.pem")} exists but ${join(dir, "ca.pem")}`);
    expect(await contents(dir)).toEqual(before);
  });
});
