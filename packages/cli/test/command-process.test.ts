// The command that `dlock lock` runs, with real `sh` processes (no cluster): exit statuses,
// and stopping the whole process group, with SIGKILL for what ignores SIGTERM.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandProcess, exitStatusOf, signalExitStatus } from "../src/command-process.js";
import { processExists, readWhenWritten, waitFor } from "./support/processes.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dlock-command-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("exitStatusOf", () => {
  it("is the exit code, or 128 + the signal number", () => {
    expect(exitStatusOf({ code: 0, signal: null })).toBe(0);
    expect(exitStatusOf({ code: 7, signal: null })).toBe(7);
    expect(exitStatusOf({ code: null, signal: "SIGTERM" })).toBe(143);
    expect(exitStatusOf({ code: null, signal: "SIGKILL" })).toBe(137);
    expect(signalExitStatus("SIGINT")).toBe(130);
    expect(signalExitStatus("SIGHUP")).toBe(129);
  });
});

describe("CommandProcess", () => {
  it("passes the environment and reports the exit code", async () => {
    const out = join(dir, "env");
    const child = await CommandProcess.start(["sh", "-c", 'echo "$DLOCK_X" > "$OUT"; exit 7'], {
      ...process.env,
      DLOCK_X: "hello",
      OUT: out,
    });
    expect(await child.exited).toStrictEqual({ code: 7, signal: null });
    expect(await readWhenWritten(out)).toBe("hello");
  });

  it("rejects a command that does not exist", async () => {
    await expect(CommandProcess.start(["/nonexistent/dlock-test"], process.env)).rejects.toThrow(
      /ENOENT/,
    );
  });

  it("runs in its own process group: a group signal reaches the background children too", async () => {
    const pidFile = join(dir, "bg");
    const child = await CommandProcess.start(["sh", "-c", 'sleep 60 & echo $! > "$PIDS"; wait'], {
      ...process.env,
      PIDS: pidFile,
    });
    const background = Number(await waitFor("the background pid", () => readWhenWritten(pidFile)));
    expect(processExists(background)).toBe(true);
    child.signalGroup("SIGHUP");
    expect(await child.exited).toStrictEqual({ code: null, signal: "SIGHUP" });
    await waitFor("the background sleep to end", () => (processExists(background) ? null : true));
    expect(child.groupAlive()).toBe(false);
  });

  it("stop() ends a cooperative group with SIGTERM alone", async () => {
    const pidFile = join(dir, "bg");
    const child = await CommandProcess.start(["sh", "-c", 'sleep 60 & echo $! > "$PIDS"; wait'], {
      ...process.env,
      PIDS: pidFile,
    });
    const background = Number(await waitFor("the background pid", () => readWhenWritten(pidFile)));
    // A grace far beyond the test's deadline: if stop() returns, SIGTERM did it.
    await child.stop(600_000);
    expect(await child.exited).toStrictEqual({ code: null, signal: "SIGTERM" });
    await waitFor("the background sleep to end", () => (processExists(background) ? null : true));
  });

  it("stop() sends SIGKILL after the grace to a group that ignores SIGTERM", async () => {
    const pidFile = join(dir, "bg");
    // The ignored SIGTERM is inherited by the background sleep too.
    const child = await CommandProcess.start(
      ["sh", "-c", 'trap "" TERM; sleep 60 & echo $! > "$PIDS"; wait; wait'],
      { ...process.env, PIDS: pidFile },
    );
    const background = Number(await waitFor("the background pid", () => readWhenWritten(pidFile)));
    const started = performance.now();
    await child.stop(300);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(await child.exited).toStrictEqual({ code: null, signal: "SIGKILL" });
    await waitFor("the background sleep to end", () => (processExists(background) ? null : true));
  });

  it("stop() also reaches what the first process left behind when it exits on SIGTERM", async () => {
    const pidFile = join(dir, "bg");
    // The shell exits on SIGTERM; its background child ignores SIGTERM and lingers.
    const child = await CommandProcess.start(
      ["sh", "-c", '(trap "" TERM; exec sleep 60) & echo $! > "$PIDS"; wait'],
      { ...process.env, PIDS: pidFile },
    );
    const background = Number(await waitFor("the background pid", () => readWhenWritten(pidFile)));
    await child.stop(300);
    expect(await child.exited).toStrictEqual({ code: null, signal: "SIGTERM" });
    await waitFor("the lingering sleep to be killed", () =>
      processExists(background) ? null : true,
    );
  });
});
