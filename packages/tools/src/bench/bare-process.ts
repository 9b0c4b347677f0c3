// The bare processes of the bench's probes (floor-peer.js, answering-node.js): started from the
// built tools package, each prints its listening port on stdout and serves until stdin closes.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A built script of tools/dist/bench, whether this runs from tools/src (vitest) or from dist. */
export function builtBenchScript(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "bench", name);
}

/** Starts `script` with `args` and resolves with the port it printed; `what` names it in errors. */
export async function startBareProcess(
  script: string,
  args: readonly string[],
  what: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}) before listening`)));
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
  });
  child.removeAllListeners("exit");
  return { child, port };
}

/** Closes the process's stdin (it exits then) and waits for it, unless it exited already. */
export async function stopBareProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  await exited;
}
