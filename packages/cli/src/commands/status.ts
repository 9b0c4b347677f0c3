// `dlock status`: the cluster's members, their roles, terms and indexes, and its leader.
import type { Command } from "commander";
import { Locker } from "@dlock/client";
import type { StatusResult } from "@dlock/client";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "../client-flags.js";
import type { ClientFlags, ClientSettings } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp } from "../help.js";
import { jsonLine, statusJson, statusText } from "../output.js";

export function registerStatusCommand(program: Command): void {
  const command = program
    .command("status")
    .description(
      "show the cluster's leader and members (role, term, commit and applied index, health, client address), as the leader sees them",
    );
  addClientOptions(command);
  command
    .addHelpText(
      "after",
      `\nWith --json: {"leader","term","members":[{"id","role","term","commitIndex","appliedIndex",\n"healthy","clientAddress"}]}\n` +
        exitCodesHelp([EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNAVAILABLE, EXIT.UNAUTHENTICATED]) +
        examplesHelp(["dlock status", "dlock status --json --timeout 3s"]),
    )
    .action(
      namedAction("dlock status", async (flags: ClientFlags, cmd: Command) => {
        const settings = clientSettingsFromFlags(flags);
        const json = jsonWanted(cmd);
        const first = await withLocker("dlock status", settings, (locker) => locker.status());
        const result = await leaderView(first, settings);
        process.stdout.write(json ? jsonLine(statusJson(result)) : statusText(result));
      }),
    );
}

/** The leader's own answer is asked for at most this long (the first answer is shown otherwise). */
const LEADER_VIEW_TIMEOUT_MS_MAX = 3_000;

/**
 * Any member answers `status`, but only the leader knows every member's progress (a follower
 * reports zeros for the others). So when a follower answered, ask the leader it names.
 */
async function leaderView(first: StatusResult, settings: ClientSettings): Promise<StatusResult> {
  const leader = first.members.find((member) => member.id === first.leader);
  const address = leader?.clientAddress ?? null;
  if (leader === undefined || address === null) return first;
  const locker = new Locker({
    ...settings.lockerOptions,
    endpoints: [address],
    unavailableTimeoutMs: Math.min(settings.timeoutMs, LEADER_VIEW_TIMEOUT_MS_MAX),
  });
  try {
    const answer = await locker.status();
    // Leadership may have moved meanwhile: keep whichever answer comes from a leader.
    return answer.leader === leader.id ? answer : first;
  } catch (error) {
    process.stderr.write(
      `dlock status: the leader ${leader.id} did not answer at ${address} (${(error as Error).message}); showing another member's view\n`,
    );
    return first;
  } finally {
    await locker.close();
  }
}
