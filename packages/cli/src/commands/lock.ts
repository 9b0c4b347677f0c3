// `dlock lock <key> -- <command...>`: runs a command while holding the lock (as flock, etcdctl
// lock and consul lock do). The lock is refreshed while the command runs and released when it
// exits; if the lock is lost, the command is stopped, because its work is no longer protected.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Option } from "commander";
import type { Command } from "commander";
import { AbortedError } from "@dlock/client";
import type { Lock, LockLostError, Locker, LockOptions } from "@dlock/client";
import { addClientOptions, clientSettingsFromFlags } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { CommandProcess, exitStatusOf, signalExitStatus } from "../command-process.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp, LOCKED_RUN_EXITS } from "../help.js";
import { addLockOptions, lockOptionsFromFlags } from "../lock-flags.js";
import type { LockFlags } from "../lock-flags.js";
import { formatMs } from "../output.js";
import { parseDurationFlag } from "../parse.js";

export interface LockCommandFlags extends ClientFlags, LockFlags {
  value?: string;
  killAfter?: string;
}

/** Default grace between SIGTERM and SIGKILL when the lock is lost. */
export const DEFAULT_KILL_AFTER_MS = 10_000;
/** Signals passed on to the command instead of ending dlock (which must release first). */
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Keeps the default value well under the server's value size limit. */
const HOSTNAME_CHARS_MAX = 64;

/** "host:pid:random": unique per run, and says where the holder runs. */
export function defaultHolderValue(): string {
  return `${hostname().slice(0, HOSTNAME_CHARS_MAX)}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

export function registerLockCommand(program: Command): void {
  const command = lockedRunCommand(program, {
    name: "lock",
    description:
      "run a command while holding a lock: the lock is refreshed while it runs and released when it exits; if the lock is lost, the command is stopped",
    keyHelp: "the lock's name",
    held: "the lock",
    valueHelp:
      "the holder's value; must be unique per holder: two runs with the same value share the lock (default host:pid:random)",
  });
  addLockOptions(command, { refresh: true });
  addClientOptions(command, { json: false });
  command
    .addHelpText(
      "after",
      `
The command runs in its own process group with DLOCK_FENCING_TOKEN, DLOCK_LOCK_KEY and
DLOCK_LOCK_VALUE in its environment; stdin, stdout and stderr are dlock's. SIGINT, SIGTERM and
SIGHUP are forwarded to its process group. When the lock is lost, dlock says so on stderr, sends
SIGTERM to the group, SIGKILL after --kill-after, and exits 4. By default one attempt is made:
use --wait to queue for a busy lock, or --retry-limit to poll.
` +
        exitCodesHelp(LOCKED_RUN_EXITS, [
          "otherwise the command's exit status (128+N if signal N ended it; 128+N also if",
          "signal N interrupted dlock while it waited for the lock)",
        ]) +
        examplesHelp([
          "dlock lock nightly-backup --ttl 1m -- ./backup.sh --full",
          "dlock lock deploy --wait 10m -- sh -c 'echo token $DLOCK_FENCING_TOKEN; make deploy'",
        ]),
    )
    .action(
      namedAction("dlock lock", async (key: string, argv: string[], flags: LockCommandFlags) => {
        process.exitCode = await runLockCommand(key, argv, flags);
      }),
    );
}

/**
 * `dlock NAME <key> [command...]` with --value and --kill-after: a command that runs another while
 * holding something (`held`: "the lock", "the permits").
 */
export function lockedRunCommand(
  program: Command,
  spec: { name: string; description: string; keyHelp: string; held: string; valueHelp: string },
): Command {
  return program
    .command(spec.name)
    .description(spec.description)
    .argument("<key>", spec.keyHelp)
    .argument("[command...]", "the command and its arguments, after --")
    .addOption(new Option("--value <value>", spec.valueHelp).env("DLOCK_VALUE"))
    .addOption(
      new Option(
        "--kill-after <duration>",
        `when ${spec.held} is lost, SIGKILL the command this long after SIGTERM (default ${formatMs(DEFAULT_KILL_AFTER_MS)})`,
      ).env("DLOCK_KILL_AFTER"),
    );
}

/** What `dlock semaphore` holds instead of the lock: `count` of the key's `permits`. */
export interface HeldPermits {
  permits: number;
  count: number;
}

/** What `dlock rwlock` holds instead of the lock: the reader-writer key as a reader or writer. */
export interface HeldRw {
  mode: "read" | "write";
}

/** The share of a key a command holds instead of an exclusive lock (null: the lock). */
export type HeldShare = HeldPermits | HeldRw | null;

/** Which command runs a command while holding: the words of its messages. */
export interface HoldingCommand {
  /** "dlock lock", "dlock semaphore", "dlock elect": the prefix of every message. */
  name: string;
  /** What is held, as messages name it: "lock", "permit", "leadership". */
  what: string;
}

/** Runs `argv` while holding `key` (also what `dlock elect` does with an election's key). */
export async function runLockCommand(
  key: string,
  argv: readonly string[],
  flags: LockCommandFlags,
  share: HeldShare = null,
  command: HoldingCommand = holdingCommandOf(share),
): Promise<number> {
  const { name, what } = command;
  if (argv.length === 0) {
    throw new CliExit(
      EXIT.USAGE,
      `${name}: give the command to run after --, e.g. ${name} ${key} -- ./job.sh`,
    );
  }
  const settings = clientSettingsFromFlags(flags);
  const options = lockOptionsFromFlags(flags);
  const killAfterMs =
    flags.killAfter === undefined
      ? DEFAULT_KILL_AFTER_MS
      : parseDurationFlag("--kill-after", flags.killAfter);
  const value = flags.value ?? defaultHolderValue();
  const relay = new SignalRelay();
  try {
    return await withLocker(name, settings, (locker) =>
      holdWhileRunning({
        name,
        what,
        locker,
        key,
        value,
        options,
        argv,
        killAfterMs,
        relay,
        share,
      }),
    );
  } finally {
    relay.dispose();
  }
}

/** The command's name and what its messages call the thing held. */
function holdingCommandOf(share: HeldShare): HoldingCommand {
  if (share === null) return { name: "dlock lock", what: "lock" };
  if ("mode" in share) return { name: "dlock rwlock", what: `${share.mode} lock` };
  return { name: "dlock semaphore", what: "permit" };
}

interface RunParameters extends HoldingCommand {
  share: HeldShare;
  locker: Locker;
  key: string;
  value: string;
  options: LockOptions;
  argv: readonly string[];
  killAfterMs: number;
  relay: SignalRelay;
}

async function holdWhileRunning(run: RunParameters): Promise<number> {
  const { name, what, locker, key, value, argv, killAfterMs, relay, share } = run;
  let lock: Lock;
  try {
    const options = { ...run.options, signal: relay.beforeStart };
    lock =
      share === null
        ? await locker.lock(key, value, options)
        : "mode" in share
          ? share.mode === "read"
            ? await locker.readLock(key, value, options)
            : await locker.writeLock(key, value, options)
          : await locker.semaphore(key, value, { ...options, ...share });
  } catch (error) {
    if (error instanceof AbortedError && relay.received !== null) return interrupted(run);
    throw error;
  }
  if (relay.received !== null) {
    await releaseQuietly(lock);
    return interrupted(run);
  }
  if (!lock.isValid()) {
    throw new CliExit(
      EXIT.LOCK_LOST,
      `${name}: the ${what} "${key}" was lost before the command started; it was not run`,
    );
  }
  let child: CommandProcess;
  try {
    child = await CommandProcess.start(argv, {
      ...process.env,
      DLOCK_FENCING_TOKEN: String(lock.fencingToken),
      DLOCK_LOCK_KEY: key,
      DLOCK_LOCK_VALUE: value,
      ...(share === null
        ? {}
        : "mode" in share
          ? { DLOCK_RW_MODE: share.mode }
          : {
              DLOCK_PERMITS: String(share.permits),
              DLOCK_PERMIT_COUNT: String(share.count),
            }),
    });
  } catch (error) {
    await releaseQuietly(lock);
    throw new CliExit(EXIT.ERROR, `${name}: cannot run "${argv[0]}": ${(error as Error).message}`);
  }
  relay.forwardTo(child);

  let lost: LockLostError | null = null;
  let stopping: Promise<void> | null = null;
  const unsubscribe = lock.onLost((error) => {
    lost = error;
    process.stderr.write(
      `${name}: ${error.message} (fencing token ${lock.fencingToken}); stopping the command ` +
        `(SIGTERM to its process group, SIGKILL after ${formatMs(killAfterMs)}): ` +
        `what it does from now on is not protected by the ${what}\n`,
    );
    stopping = child.stop(killAfterMs).catch((stopError: unknown) => {
      process.stderr.write(`${name}: could not stop the command: ${String(stopError)}\n`);
    });
  });
  const outcome = await child.exited;
  unsubscribe();
  // The lost timer may fire late; a validity that ran out before the command ended is a loss.
  const heldToTheEnd = lost === null && lock.isValid();
  if (stopping !== null) await stopping;
  const status = exitStatusOf(outcome);

  let released: boolean | null = null;
  try {
    released = (await lock.release()).released;
  } catch (error) {
    if (heldToTheEnd) {
      process.stderr.write(
        `${name}: could not release "${key}": ${(error as Error).message}; ` +
          `it ends by itself within its ttl (${formatMs(lock.ttlMs)})\n`,
      );
    }
  }
  if (lost !== null) throw new CliExit(EXIT.LOCK_LOST, ""); // Said when it happened.
  if (!heldToTheEnd) {
    throw new CliExit(
      EXIT.LOCK_LOST,
      `${name}: the ${what} "${key}" was lost before the command ended (status ${status}): ` +
        `its work was not protected by the ${what} to the end`,
    );
  }
  if (released === false) {
    throw new CliExit(
      EXIT.LOCK_LOST,
      `${name}: the cluster no longer held the ${what} "${key}" (fencing token ` +
        `${lock.fencingToken}) when the command ended (status ${status}): was it released or ` +
        `taken over by another holder with the same value?`,
    );
  }
  return status;
}

/** Gives the lock back when the command never ran; if that fails, it ends by its ttl. */
async function releaseQuietly(lock: Lock): Promise<void> {
  try {
    await lock.release();
  } catch {
    // The reason dlock is exiting matters more than this; the lease runs out on its own.
  }
}

function interrupted(run: RunParameters): number {
  const signal = run.relay.received!;
  process.stderr.write(
    `${run.name}: ${signal} while waiting for the ${run.what} "${run.key}": the command was not run\n`,
  );
  return signalExitStatus(signal);
}

/**
 * Takes SIGINT, SIGTERM and SIGHUP for the whole run: before the command starts, the first one
 * cancels the acquisition; once it runs, each is forwarded to its process group, and dlock exits
 * only after the command has, having released the lock.
 */
class SignalRelay {
  /** The signal that arrived before the command started, if one did. */
  received: NodeJS.Signals | null = null;
  private readonly controller = new AbortController();
  private target: CommandProcess | null = null;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.target !== null) {
      this.target.signalGroup(signal);
    } else if (this.received === null) {
      this.received = signal;
      this.controller.abort(new AbortedError(`interrupted by ${signal}`));
    }
  };

  constructor() {
    for (const signal of FORWARDED_SIGNALS) process.on(signal, this.onSignal);
  }

  /** Aborted by the first signal that arrives before the command starts. */
  get beforeStart(): AbortSignal {
    return this.controller.signal;
  }

  /** From now on signals go to `child`; one that came while it was starting goes at once. */
  forwardTo(child: CommandProcess): void {
    this.target = child;
    if (this.received !== null) child.signalGroup(this.received);
  }

  dispose(): void {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, this.onSignal);
  }
}
