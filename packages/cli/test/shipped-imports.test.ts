// Every package a shipped package's source imports is one of its `dependencies`: a module found
// only through the workspace (a devDependency, or a package hoisted by another's install) works in
// the repository and fails once installed on its own. The Docker image found the first such import
// (`dlock list` imported @dlock/protocol, a devDependency of the CLI) before this test did.
import { readFileSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packagesDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHIPPED = ["raft", "protocol", "server", "client", "cli"];
const IMPORT =
  /^\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]!);
}

describe("shipped packages", () => {
  for (const name of SHIPPED) {
    it(`@dlock/${name} imports only its declared dependencies`, () => {
      const manifest = JSON.parse(
        readFileSync(join(packagesDir, name, "package.json"), "utf8"),
      ) as { name: string; dependencies?: Record<string, string> };
      const declared = new Set(Object.keys(manifest.dependencies ?? {}));
      const undeclared: string[] = [];
      for (const file of sourceFiles(join(packagesDir, name, "src"))) {
        const text = readFileSync(file, "utf8");
        for (const match of text.matchAll(IMPORT)) {
          const specifier = match[1] ?? match[2]!;
          if (specifier.startsWith(".") || isBuiltin(specifier)) continue;
          const pkg = packageOf(specifier);
          if (pkg !== manifest.name && !declared.has(pkg))
            undeclared.push(`${file.slice(packagesDir.length + 1)} imports ${specifier}`);
        }
      }
      expect(undeclared).toEqual([]);
    });
  }
});
