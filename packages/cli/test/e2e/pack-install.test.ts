// Issue 14, "what it must show" #1: every public package packed with `pnpm pack`, installed with
// plain npm into a scratch project outside the workspace, a cluster started from the installed
// `dlock` command, and the README's client and withLock examples (taken from README.md's code
// blocks, so the README stays true) run from that project — nothing resolved from the workspace.
// Needs `pnpm run build` first (the tarballs carry dist/). Third-party dependencies come from the
// npm registry through the local npm cache (--prefer-offline).
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

const PACKAGES_DIR = join(REPO_ROOT, "packages");
const INSTALL_TIMEOUT_MS = 300_000;
const RUN_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: nothing this test runner (pnpm, npm) set for itself. */
function userEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_|VITEST|NODE_OPTIONS$|INIT_CWD$)/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? userEnvironment(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? RUN_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function mustRun(
  command: string,
  args: readonly string[],
  options: Parameters<typeof run>[2],
): Promise<Run> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${options.cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** The packages that are not private: what a user can install. */
function publicPackages(): Array<{ dir: string; name: string }> {
  return readdirSync(PACKAGES_DIR)
    .map((dir) => ({ dir, file: join(PACKAGES_DIR, dir, "package.json") }))
    .filter(({ file }) => existsSync(file))
    .map(({ dir, file }) => ({ dir, manifest: JSON.parse(readFileSync(file, "utf8")) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ dir, name: manifest.name as string }));
}

/** The ```js block of README.md whose first line is `firstLine`. */
function readmeExample(readme: string, firstLine: string): string {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```\n/g)].map((match) => match[1]!);
  const found = blocks.filter((block) => block.startsWith(firstLine));
  if (found.length !== 1) throw new Error(`README.md has ${found.length} blocks "${firstLine}"`);
  return found[0]!;
}

let work: string;
let scratch: string;
let test: TestCluster | null = null;
const packages = publicPackages();

beforeAll(async () => {
  for (const { dir } of packages) {
    if (!existsSync(join(PACKAGES_DIR, dir, "dist"))) {
      throw new Error(`packages/${dir}/dist is missing: run \`npx -y pnpm@12.4.2 run build\``);
    }
  }
  work = await mkdtemp(join(tmpdir(), "dlock-pack-"));
  const tarballs = join(work, "tarballs");
  scratch = join(work, "project");
  await mkdir(tarballs);
  await mkdir(scratch);
  for (const { dir } of packages) {
    await mustRun("npx", ["-y", "pnpm@12.4.2", "pack", "--pack-destination", tarballs], {
      cwd: join(PACKAGES_DIR, dir),
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
  }
  await writeFile(
    join(scratch, "package.json"),
    JSON.stringify({ name: "dlock-scratch", private: true, type: "module" }, null, 2),
  );
  const files = readdirSync(tarballs).map((file) => join(tarballs, file));
  expect(files).toHaveLength(packages.length);
  await mustRun(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...files],
    { cwd: scratch, timeoutMs: INSTALL_TIMEOUT_MS },
  );
}, INSTALL_TIMEOUT_MS * 2);

afterAll(async () => {
  await test?.dispose();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("the packed packages, installed with npm outside the workspace", () => {
  it("are the five shipped ones, with their workspace dependencies turned into versions", () => {
    expect(packages.map((p) => p.name).sort()).toEqual([
      "@dlock/cli",
      "@dlock/client",
      "@dlock/protocol",
      "@dlock/raft",
      "@dlock/server",
    ]);
    // Installed from the tarballs, not fetched from a registry under the same names.
    const lock = JSON.parse(readFileSync(join(scratch, "package-lock.json"), "utf8")) as {
      packages: Record<string, { resolved?: string; version?: string }>;
    };
    for (const { name } of packages) {
      expect(lock.packages[`node_modules/${name}`]?.resolved, name).toMatch(/^file:.*\.tgz$/);
    }
    for (const { name } of packages) {
      const manifestFile = join(scratch, "node_modules", name, "package.json");
      const manifest = readFileSync(manifestFile, "utf8");
      expect(manifest, name).not.toContain("workspace:");
      expect(JSON.parse(manifest).license, name).toBe("Apache-2.0");
      expect(existsSync(join(scratch, "node_modules", name, "LICENSE")), name).toBe(true);
      expect(existsSync(join(scratch, "node_modules", name, "README.md")), name).toBe(true);
    }
  });

  it("resolve every @dlock package, from the project and from each other, inside the project", async () => {
    const modules = join(realpathSync(scratch), "node_modules") + sep;
    // Each package as the project sees it (import and require), and each dependency as the
    // installed package that imports it sees it.
    const probe = `
      import { createRequire } from "node:module";
      import { realpathSync } from "node:fs";
      import { fileURLToPath } from "node:url";
      const names = ${JSON.stringify(packages.map((p) => p.name))};
      const out = {};
      const require = createRequire(import.meta.url);
      for (const name of names) {
        const main = realpathSync(require.resolve(name));
        out[name + " (require)"] = main;
        out[name] = realpathSync(fileURLToPath(import.meta.resolve(name)));
        const from = createRequire(main);
        for (const dep of names) {
          try { out[name + " -> " + dep] = realpathSync(from.resolve(dep)); } catch {}
        }
      }
      console.log(JSON.stringify(out));
    `;
    await writeFile(join(scratch, "resolve-probe.mjs"), probe);
    const result = await mustRun(process.execPath, ["resolve-probe.mjs"], { cwd: scratch });
    const resolved = JSON.parse(result.stdout) as Record<string, string>;
    expect(Object.keys(resolved)).toEqual(
      expect.arrayContaining([
        "@dlock/client",
        "@dlock/client (require)",
        "@dlock/client -> @dlock/protocol",
        "@dlock/cli -> @dlock/server",
        "@dlock/cli -> @dlock/client",
        "@dlock/server -> @dlock/raft",
        "@dlock/server -> @dlock/protocol",
      ]),
    );
    for (const [what, path] of Object.entries(resolved)) {
      expect(path.startsWith(modules), `${what}: ${path}`).toBe(true);
      expect(path.startsWith(PACKAGES_DIR), `${what}: ${path}`).toBe(false);
    }
  });

  it("can be loaded with require() on this Node", async () => {
    await writeFile(
      join(scratch, "require-probe.cjs"),
      'const client = require("@dlock/client");\n' +
        // The server's graph too: an embedding CommonJS application loads it the same way.
        'require("@dlock/server");\n' +
        'console.log(typeof client.Locker, typeof client.LockBusyError, require.resolve("@dlock/client"));\n',
    );
    const result = await mustRun(process.execPath, ["require-probe.cjs"], { cwd: scratch });
    expect(result.stderr).toBe("");
    const [locker, error, path] = result.stdout.trim().split(" ");
    expect([locker, error]).toEqual(["function", "function"]);
    expect(realpathSync(path!).startsWith(realpathSync(scratch) + sep)).toBe(true);
  });

  it("give a working `dlock` command, and the README's examples run against its cluster", async () => {
    const dlock = join(scratch, "node_modules", ".bin", "dlock");
    const version = await mustRun(dlock, ["--version"], { cwd: scratch });
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(PACKAGES_DIR, "cli", "package.json"), "utf8")).version,
    );

    // The nodes run the installed command (LocalCluster spawns `node <bin>`; the symlink in
    // node_modules/.bin resolves into the project).
    test = await startTestCluster("pack", { bin: dlock });
    const endpoints = test.cluster.endpoints().join(",");
    const env = userEnvironment({ DLOCK_ENDPOINTS: endpoints });
    const status = await mustRun(dlock, ["status", "--json"], { cwd: scratch, env });
    expect(JSON.parse(status.stdout).members).toHaveLength(3);

    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    await writeFile(
      join(scratch, "quick-start.mjs"),
      readmeExample(readme, "// The README's client example"),
    );
    await writeFile(
      join(scratch, "with-lock.mjs"),
      readmeExample(readme, "// The README's withLock example"),
    );

    const quickStart = await run(process.execPath, ["quick-start.mjs"], { cwd: scratch, env });
    expect(quickStart.stderr).toBe("");
    expect(quickStart.code).toBe(0);
    const token = Number(
      /acquired reports\/daily with fencing token (\d+)/.exec(quickStart.stdout)?.[1],
    );
    expect(token).toBeGreaterThan(0);
    for (const step of [1, 2, 3]) {
      expect(quickStart.stdout).toContain(`step ${step} written with token ${token}`);
    }
    expect(quickStart.stdout).toContain("released: true\n");

    const withLock = await run(process.execPath, ["with-lock.mjs"], { cwd: scratch, env });
    expect(withLock.stderr).toBe("");
    expect(withLock.code).toBe(0);
    expect(withLock.stdout).toMatch(/^leader: n[123]$/m);
    const withLockToken = Number(/invoicing with fencing token (\d+)/.exec(withLock.stdout)?.[1]);
    expect(withLockToken).toBeGreaterThan(token);
    expect(withLock.stdout).toContain("invoiced 42 customers; the lock is released\n");

    // withLock released it: the key is free again.
    const get = await mustRun(dlock, ["get", "invoices/monthly", "--json"], { cwd: scratch, env });
    expect(JSON.parse(get.stdout)).toMatchObject({ held: false });
  });
});
