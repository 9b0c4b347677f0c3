// `dlock member list | add ID=HOST:PORT | remove ID | promote ID`: the cluster's membership,
// changed one server at a time through the leader. A new node starts with `dlock server --join`,
// is added as a learner (it catches up without voting), then promoted once it has caught up.
import type { Command } from "commander";
import { ConfigChangeRefusedError } from "@dlock/client";
import type { Locker, MembersResult } from "@dlock/client";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, CLIENT_EXITS, exitCodesHelp } from "../help.js";
import { jsonLine, table } from "../output.js";

const EXIT_CODES = exitCodesHelp(CLIENT_EXITS, [
  "   (1 also when the leader refused the change: the message says why and what to do)",
]);

export function registerMemberCommand(program: Command): void {
  const member = program
    .command("member")
    .description(
      "list or change the cluster's members (one change at a time, through the leader): a new node starts with `dlock server --join`, is added as a learner, then promoted",
    )
    .addHelpText(
      "after",
      examplesHelp([
        "dlock member list",
        "dlock member add n4=10.0.0.4:7101",
        "dlock member promote n4",
        "dlock member remove n1",
      ]),
    );

  addClientOptions(
    member.command("list").description("the members, their kind, addresses and progress"),
  )
    .addHelpText("after", EXIT_CODES)
    .action(memberAction("dlock member list", (locker) => locker.members()));

  addClientOptions(
    member
      .command("add")
      .argument("<id=host:port>", "the new member's id and peer address")
      .description(
        "add a learner: it receives the log (or a snapshot) but does not vote until promoted",
      ),
  )
    .addHelpText("after", EXIT_CODES)
    .action(
      memberAction("dlock member add", (locker, spec: string) => {
        const at = spec.indexOf("=");
        if (at <= 0 || at === spec.length - 1) {
          throw new CliExit(EXIT.USAGE, `"${spec}" must look like id=host:port`);
        }
        return locker.addMember(spec.slice(0, at), spec.slice(at + 1));
      }),
    );

  addClientOptions(
    member
      .command("promote")
      .argument("<id>", "a learner")
      .description("make a learner a voter (refused until it has caught up)"),
  )
    .addHelpText("after", EXIT_CODES)
    .action(memberAction("dlock member promote", (locker, id: string) => locker.promoteMember(id)));

  addClientOptions(
    member
      .command("remove")
      .argument("<id>", "a voter or learner")
      .description("remove a member (removing the leader makes it step down)"),
  )
    .addHelpText("after", EXIT_CODES)
    .action(memberAction("dlock member remove", (locker, id: string) => locker.removeMember(id)));
}

/**
 * The action of one member subcommand: `run` gets the Locker and the subcommand's argument (if
 * any); its answer is printed as a table or JSON, a refused change as its reason and message.
 */
function memberAction(
  name: string,
  run: (locker: Locker, argument: string) => Promise<MembersResult>,
): (...args: unknown[]) => Promise<void> {
  return namedAction(name, async (...args: unknown[]) => {
    // Commander passes the positional argument (if the subcommand has one), the flags, itself.
    const command = args.at(-1) as Command;
    const flags = args.at(-2) as ClientFlags;
    const argument = args.length === 3 ? (args[0] as string) : "";
    const settings = clientSettingsFromFlags(flags);
    const json = jsonWanted(command);
    const result = await withLocker(name, settings, async (locker) => {
      try {
        return await run(locker, argument);
      } catch (error) {
        if (error instanceof ConfigChangeRefusedError) {
          throw new CliExit(EXIT.ERROR, `${name}: refused (${error.refusal}): ${error.message}`);
        }
        throw error;
      }
    });
    process.stdout.write(json ? jsonLine(result) : membersText(result));
  });
}

/** The leader, then one row per member: match index against the leader's commit index. */
export function membersText(result: MembersResult): string {
  const header =
    result.leader === null
      ? `no leader (term ${result.term}): the answering node removed itself and stepped down`
      : `leader: ${result.leader} (term ${result.term}, commit index ${result.commitIndex})`;
  const rows = [["ID", "KIND", "MATCH", "HEALTHY", "PEER", "CLIENT"]];
  for (const m of result.members) {
    rows.push([
      m.id,
      m.kind,
      String(m.matchIndex),
      m.healthy ? "yes" : "no",
      m.peerAddress ?? "-",
      m.clientAddress ?? "-",
    ]);
  }
  return `${header}\n${table(rows)}`;
}
