// docs/cli.md's table of the flags every client command takes is the program's list: each flag
// once, with the variable it reads, and none the program lacks.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addClientOptions } from "../src/client-flags.js";

const DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "docs", "cli.md");
const SECTION = "## Flags of every client command";

/** [flag, variable] of each row of the section's table, in order. */
function documentedRows(markdown: string): Array<[string, string]> {
  const lines = markdown.split("\n");
  const start = lines.indexOf(SECTION);
  if (start < 0) throw new Error(`docs/cli.md has no "${SECTION}"`);
  const rows: Array<[string, string]> = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("## ")) break;
    const row = /^\| `(--[^`]+)`\s*\| `([A-Z_]+)`/.exec(line);
    if (row) rows.push([row[1], row[2]]);
  }
  return rows;
}

describe("docs/cli.md: the client flags table", () => {
  it("lists every client flag once, with its variable, and nothing else", async () => {
    const rows = documentedRows(await readFile(DOC, "utf8"));
    const flags = rows.map(([flag]) => flag);
    expect(flags.filter((flag, i) => flags.indexOf(flag) !== i)).toEqual([]);
    const program = addClientOptions(new Command()).options.map((option): [string, string] => [
      option.flags,
      option.envVar ?? "(none)",
    ]);
    const byFlag = (a: [string, string], b: [string, string]) => a[0].localeCompare(b[0]);
    expect([...rows].sort(byFlag)).toEqual([...program].sort(byFlag));
  });
});
