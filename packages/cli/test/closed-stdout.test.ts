// `dlock ... | head` once head has gone: the command exits with its own code and says nothing
// about EPIPE. Runs the built bin (needs `pnpm run build`), as a pipeline would.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../dist/bin.js");

function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    // The reader is gone before the command writes anything: its first write fails with EPIPE.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stderr }));
  });
}

describe("a closed stdout", () => {
  it.each([[["status", "--help"]], [["--version"]]])(
    "dlock %j exits 0 without an EPIPE crash",
    async (args) => {
      const run = await runWithClosedStdout(args);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    },
  );
});
