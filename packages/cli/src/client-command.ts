// Runs one client command against the cluster: a Locker for its duration, and the client's
// typed errors turned into an exit code and one line on stderr.
import type { Command } from "commander";
import { Locker } from "@dlock/client";
import { cliExitFor } from "./client-errors.js";
import { CliExit } from "./exit-codes.js";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "./client-flags.js";
import type { ClientFlags, ClientSettings } from "./client-flags.js";

export async function withLocker<T>(
  command: string,
  settings: ClientSettings,
  work: (locker: Locker) => Promise<T>,
): Promise<T> {
  const context = { command, endpoints: settings.endpoints, timeoutMs: settings.timeoutMs };
  let locker: Locker;
  try {
    locker = new Locker(settings.lockerOptions);
  } catch (error) {
    throw cliExitFor(error, context);
  }
  try {
    return await work(locker);
  } catch (error) {
    throw cliExitFor(error, context);
  } finally {
    await locker.close();
  }
}

/**
 * Wraps a command's action so that every message it ends with starts with the command's name
 * ("dlock get: --timeout: ..."), also those of the shared flag parsers.
 */
export function namedAction<A extends unknown[]>(
  command: string,
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof CliExit && error.message !== "" && !error.message.startsWith("dlock")) {
        throw new CliExit(error.exitCode, `${command}: ${error.message}`);
      }
      throw error;
    }
  };
}

/** What a client command's action starts from: the resolved client flags and --json. */
export interface ClientRun {
  settings: ClientSettings;
  json: boolean;
}

/**
 * The action of a client command with one argument (a key or a prefix): named errors as
 * namedAction gives them, run with the client flags resolved and --json read.
 */
export function clientAction<F extends ClientFlags>(
  command: string,
  action: (argument: string, flags: F, run: ClientRun) => Promise<void>,
): (argument: string, flags: F, cmd: Command) => Promise<void> {
  return namedAction(command, (argument: string, flags: F, cmd: Command) =>
    action(argument, flags, { settings: clientSettingsFromFlags(flags), json: jsonWanted(cmd) }),
  );
}

/** `dlock NAME [prefix]` with the client options: a command over the locks under a prefix. */
export function prefixCommand(program: Command, name: string, description: string): Command {
  const command = program
    .command(name)
    .description(description)
    .argument("[prefix]", 'key prefix ("" or absent: every key)', "");
  return addClientOptions(command);
}
