// The command that `dlock lock` runs: a child in its own process group (its own session), so
// that stopping it when the lock is lost stops everything it started, not only its first process
// (a `sh -c 'a; b'` whose shell dies would otherwise leave `a` working without the lock).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { performance } from "node:perf_hooks";

export interface CommandOutcome {
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How often to look whether a stopped command's process group is gone. */
const GROUP_POLL_INTERVAL_MS = 50;

/** The status a shell reports for `outcome`: the exit code, or 128 + the signal's number. */
export function exitStatusOf(outcome: CommandOutcome): number {
  if (outcome.code !== null) return outcome.code;
  const number = outcome.signal === null ? undefined : constants.signals[outcome.signal];
  return 128 + (number ?? 0);
}

/** 128 + the number of `signal`: what a shell reports for a process that `signal` ended. */
export function signalExitStatus(signal: NodeJS.Signals): number {
  return exitStatusOf({ code: null, signal });
}

export class CommandProcess {
  /** Resolves when the command's first process exits (not its background children). */
  readonly exited: Promise<CommandOutcome>;
  private readonly pid: number;
  private hasExited = false;

  private constructor(child: ChildProcess, pid: number) {
    this.pid = pid;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.hasExited = true;
        resolve({ code, signal });
      });
    });
  }

  /**
   * Starts `argv` with inherited stdio and `env`. Rejects (e.g. ENOENT) if it cannot be started.
   */
  static start(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandProcess> {
    const [command, ...args] = argv;
    if (command === undefined) {
      return Promise.reject(new RangeError("CommandProcess.start: argv is empty (no command)"));
    }
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: "inherit", env, detached: true });
      child.once("error", reject);
      child.once("spawn", () => {
        child.off("error", reject);
        child.on("error", () => {
          // A failed kill() of an exited process: the exit itself is reported through `exited`.
        });
        resolve(new CommandProcess(child, child.pid!));
      });
    });
  }

  /** Sends `signal` to every process of the command's group; a group that is gone is ignored. */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  /** Whether any process of the command's group still exists. */
  groupAlive(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  }

  /**
   * SIGTERM to the whole group; SIGKILL to whatever of it is left after `killAfterMs`. Resolves
   * when the first process has exited and the group is gone or has been sent SIGKILL.
   */
  async stop(killAfterMs: number): Promise<void> {
    const deadline = performance.now() + killAfterMs;
    this.signalGroup("SIGTERM");
    while ((!this.hasExited || this.groupAlive()) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, GROUP_POLL_INTERVAL_MS));
    }
    if (!this.hasExited || this.groupAlive()) this.signalGroup("SIGKILL");
    await this.exited;
  }
}
