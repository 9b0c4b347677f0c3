// Runs one client command against the cluster: a Locker for its duration, and the client's
// typed errors turned into an exit code and one line on stderr.
import { Locker } from "@dlock/client";
import { cliExitFor } from "./client-errors.js";
import { CliExit } from "./exit-codes.js";
import type { ClientSettings } from "./client-flags.js";

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
