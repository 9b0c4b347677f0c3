// `dlock auth token`: a new auth token and the auth-file line that grants it. Nothing is sent
// anywhere: the operator gives the token to the client and adds the line to every server's file.
import { Option } from "commander";
import type { Command } from "commander";
import { jsonWanted } from "../client-flags.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp } from "../help.js";
import { jsonLine } from "../output.js";

interface AuthTokenFlags {
  name: string;
  grant?: string[];
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

export function registerAuthCommand(program: Command): void {
  const auth = program
    .command("auth")
    .description("client credentials for servers that run with --auth-file");
  auth
    .command("token")
    .description(
      "generate a random auth token (256 bits); prints the token and the auth-file line with its SHA-256",
    )
    .addOption(
      new Option("--name <principal>", "the principal the token authenticates as")
        .env("DLOCK_AUTH_NAME")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--grant <grant...>",
        "grants of the line: lock:PREFIX*, read:PREFIX*, admin (default read:*)",
      ).env("DLOCK_AUTH_GRANTS"),
    )
    .addOption(
      new Option("--json", "print {name, token, line} as one JSON object; DLOCK_JSON=1 or 0").env(
        "DLOCK_JSON",
      ),
    )
    .addHelpText(
      "after",
      "\nThe token is shown once and stored nowhere: keep it in a file readable by the client only\n" +
        "(dlock ... --auth-token-file). Add the line to the auth file of every server and restart them.\n" +
        examplesHelp([
          "dlock auth token --name ci --grant 'lock:jobs/*' 'read:*'",
          "dlock auth token --name ops --grant admin",
        ]),
    )
    .action(async (flags: AuthTokenFlags, cmd: Command) => {
      if (!NAME_PATTERN.test(flags.name)) {
        throw new CliExit(
          EXIT.USAGE,
          `dlock auth token: --name: "${flags.name}" must be letters, digits, . _ @ - (at most 128)`,
        );
      }
      const grants = (flags.grant ?? ["read:*"]).flatMap((g) => g.split(/[\s,]+/)).filter(Boolean);
      const { generateAuthToken, hashAuthToken, parseAuthFile } = await import("@dlock/server");
      const token = generateAuthToken();
      const line = `${flags.name} ${hashAuthToken(token)} ${grants.join(" ")}`;
      try {
        parseAuthFile(line, "the line");
      } catch (error) {
        throw new CliExit(EXIT.USAGE, `dlock auth token: --grant: ${(error as Error).message}`);
      }
      process.stdout.write(
        jsonWanted(cmd)
          ? jsonLine({ name: flags.name, token, line })
          : `token: ${token}\nauth file line: ${line}\n`,
      );
    });
}
