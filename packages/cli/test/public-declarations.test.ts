// No public type mentions planted bugs (issue 12): every declaration file reachable from a public
// entry of a shipped package (each `exports` subpath except ./internal) is read and searched. It
// reads the built dist/ files, so it needs `pnpm run build` first (the root `test` script does).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packagesDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHIPPED = ["raft", "protocol", "server", "client", "cli"];
const INTERNAL_SUBPATH = "./internal";

interface ExportEntry {
  types?: string;
}

function packageJsonOf(name: string): { exports: Record<string, ExportEntry> } {
  return JSON.parse(readFileSync(join(packagesDir, name, "package.json"), "utf8"));
}

/** The declaration file of `@dlock/<name><subpath>`, or null when it is not a public one. */
function entryDeclaration(name: string, subpath: string): string | null {
  if (subpath === INTERNAL_SUBPATH) return null;
  const types = packageJsonOf(name).exports[subpath]?.types;
  if (types === undefined) throw new Error(`@dlock/${name} has no types for ${subpath}`);
  return join(packagesDir, name, types);
}

function publicEntries(): string[] {
  return SHIPPED.flatMap((name) =>
    Object.keys(packageJsonOf(name).exports)
      .map((subpath) => entryDeclaration(name, subpath))
      .filter((file): file is string => file !== null),
  );
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)["']([^"']+)["']/gm;

/** Every declaration file reachable from `entries` through relative and @dlock/* imports. */
export function reachableDeclarations(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run \`npx pnpm@12.4.2 run build\` first`);
    }
    seen.add(file);
    for (const match of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const specifier = match[1]!;
      if (specifier.startsWith(".")) {
        pending.push(resolve(dirname(file), specifier.replace(/\.js$/, ".d.ts")));
      } else if (specifier.startsWith("@dlock/")) {
        const [, name, ...rest] = specifier.split("/");
        const target = entryDeclaration(name!, rest.length === 0 ? "." : `./${rest.join("/")}`);
        // A public declaration that imports an internal entry leaks it: fail loudly.
        if (target === null) throw new Error(`${file} imports the internal entry ${specifier}`);
        pending.push(target);
      }
    }
  }
  return seen;
}

describe("public declarations", () => {
  const files = reachableDeclarations(publicEntries());

  it("reach the modules that used to carry planted bugs", () => {
    // Guards the walk itself: were it to stop at the entries, the search below would prove nothing.
    const relative = [...files].map((file) => file.slice(packagesDir.length + 1));
    expect(relative).toEqual(
      expect.arrayContaining([
        "raft/dist/config.d.ts",
        "raft/dist/raw-node.d.ts",
        "server/dist/lock/state-machine.d.ts",
        "server/dist/lock/lease-manager.d.ts",
        "server/dist/node/lock-service.d.ts",
        "client/dist/locker-options.d.ts",
      ]),
    );
  });

  it("never mention planted bugs", () => {
    const mentions = [...files].filter((file) => /planted/i.test(readFileSync(file, "utf8")));
    expect(mentions).toEqual([]);
  });
});
