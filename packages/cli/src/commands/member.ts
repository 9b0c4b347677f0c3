// `dlock member list | add ID=HOST:PORT | remove ID | promote ID`: the cluster's membership,
// changed one server at a time through the leader. A new node starts with `dlock server --join`,
// is added as a learner (it catches up without voting), then promoted once it has caught up.
import { Option } from "commander";
import type { Command } from "commander";
import {
  ClusterUnavailableError,
  ConfigChangeRefusedError,
  InvalidArgumentError,
  Locker,
} from "@dlock/client";
import type { MembersResult } from "@dlock/client";
import { CliExit, EXIT } from "../exit-codes.js";
import { parseEndpointList } from "../parse.js";

interface MemberFlags {
  endpoints?: string;
  clusterId?: string;
  json?: boolean;
}

/** The local three-node cluster of `pnpm start`, when neither --endpoints nor DLOCK_ENDPOINTS. */
const LOCAL_ENDPOINTS = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";

export function registerMemberCommand(program: Command): void {
  const member = program
    .command("member")
    .description(
      "list or change the cluster's members (one change at a time, through the leader): a new node starts with `dlock server --join`, is added as a learner, then promoted",
    );
  const common = (command: Command): Command =>
    command
      .addOption(
        new Option("--endpoints <list>", "client addresses of some members, host:port,...")
          .env("DLOCK_ENDPOINTS")
          .default(LOCAL_ENDPOINTS),
      )
      .addOption(
        new Option("--cluster-id <name>", "refuse a cluster of another name").env(
          "DLOCK_CLUSTER_ID",
        ),
      )
      .option("--json", "print the members as one JSON object");

  common(
    member.command("list").description("the members, their roles, addresses and progress"),
  ).action(async (flags: MemberFlags) => {
    await withLocker(flags, (locker) => locker.members());
  });
  common(
    member
      .command("add")
      .argument("<id=host:port>", "the new member's id and peer address")
      .description("add a learner: it receives the log (or a snapshot) but does not vote yet"),
  ).action(async (spec: string, flags: MemberFlags) => {
    const at = spec.indexOf("=");
    if (at <= 0 || at === spec.length - 1) {
      throw new CliExit(EXIT.USAGE, `dlock member add: "${spec}" must look like id=host:port`);
    }
    await withLocker(flags, (locker) => locker.addMember(spec.slice(0, at), spec.slice(at + 1)));
  });
  common(
    member
      .command("promote")
      .argument("<id>", "a learner")
      .description("make a learner a voter (refused until it has caught up)"),
  ).action(async (id: string, flags: MemberFlags) => {
    await withLocker(flags, (locker) => locker.promoteMember(id));
  });
  common(
    member
      .command("remove")
      .argument("<id>", "a voter or learner")
      .description("remove a member (removing the leader makes it step down)"),
  ).action(async (id: string, flags: MemberFlags) => {
    await withLocker(flags, (locker) => locker.removeMember(id));
  });
}

async function withLocker(
  flags: MemberFlags,
  run: (locker: Locker) => Promise<MembersResult>,
): Promise<void> {
  let locker: Locker;
  try {
    locker = new Locker({
      endpoints: parseEndpointList(flags.endpoints ?? LOCAL_ENDPOINTS),
      clusterId: flags.clusterId ?? null,
    });
  } catch (error) {
    throw new CliExit(EXIT.USAGE, `dlock member: ${(error as Error).message}`);
  }
  try {
    const result = await run(locker);
    process.stdout.write(
      flags.json === true ? `${JSON.stringify(result)}\n` : formatMembers(result),
    );
  } catch (error) {
    if (error instanceof ConfigChangeRefusedError) {
      throw new CliExit(EXIT.ERROR, `dlock member: refused (${error.refusal}): ${error.message}`);
    }
    if (error instanceof InvalidArgumentError) {
      throw new CliExit(EXIT.USAGE, `dlock member: ${error.message}`);
    }
    if (error instanceof ClusterUnavailableError) {
      throw new CliExit(EXIT.UNAVAILABLE, `dlock member: ${error.message}`);
    }
    throw new CliExit(EXIT.ERROR, `dlock member: ${(error as Error).message}`);
  } finally {
    await locker.close();
  }
}

function formatMembers(result: MembersResult): string {
  const rows = [["ID", "KIND", "PEER", "CLIENT", "MATCH", "HEALTHY"]];
  for (const m of result.members) {
    const id = m.id === result.leader ? `${m.id} (leader)` : m.id;
    rows.push([
      id,
      m.kind,
      m.peerAddress ?? "-",
      m.clientAddress ?? "-",
      `${m.matchIndex}/${result.commitIndex}`,
      m.healthy ? "yes" : "no",
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return `${rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}
