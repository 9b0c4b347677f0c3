// `dlock snapshot save|restore|inspect`: backups of the lock table and the way back from them.
// save asks the leader's admin port (GET /snapshot, admin role) for the state at one applied
// index and writes it with a SHA-256; restore verifies a file and seeds the data folder of one
// node of a new cluster (run it for every founder with the same --cluster list, then start them).
import { readFile, rename, rm } from "node:fs/promises";
import { Option } from "commander";
import type { Command } from "commander";
import type { BackupHeader } from "@dlock/server";
import { jsonWanted } from "../client-flags.js";
import { namedAction } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp } from "../help.js";
import { jsonLine } from "../output.js";
import { parseClusterList, parseDurationFlag, parseEndpointList } from "../parse.js";
import { downloadSnapshot } from "../snapshot-download.js";

/** The admin ports of the local three-node cluster that `pnpm start` runs. */
const DEFAULT_ADMIN_ADDRESSES = "127.0.0.1:7201,127.0.0.1:7202,127.0.0.1:7203";
const DEFAULT_SAVE_TIMEOUT = "60s";

interface SaveFlags {
  admin: string;
  authToken?: string;
  authTokenFile?: string;
  adminTlsCa?: string;
  timeout: string;
}

interface RestoreFlags {
  data: string;
  id: string;
  cluster: string;
  clusterId?: string;
}

const jsonOption = () =>
  new Option("--json", "print the backup's header as one JSON object (env: 1 or 0)").env(
    "DLOCK_JSON",
  );

export function registerSnapshotCommand(program: Command): void {
  const snapshot = program
    .command("snapshot")
    .description("back the lock table up (save) and start a new cluster from a backup (restore)");

  snapshot
    .command("save")
    .description(
      "save the cluster's state (every lock, holder, token, waiter, the members) at one applied index into FILE, through the leader's admin port; needs the admin role when the servers have an auth file",
    )
    .argument("<file>", "the backup file to write (replaced only once the new one is complete)")
    .addOption(
      new Option(
        "--admin <list>",
        "admin (--http) addresses of the members, comma-separated; the leader's answers",
      )
        .env("DLOCK_ADMIN")
        .default(DEFAULT_ADMIN_ADDRESSES),
    )
    .addOption(new Option("--auth-token <token>", "an admin's auth token").env("DLOCK_AUTH_TOKEN"))
    .addOption(
      new Option("--auth-token-file <file>", "read the admin's auth token from a file").env(
        "DLOCK_AUTH_TOKEN_FILE",
      ),
    )
    .addOption(
      new Option(
        "--admin-tls-ca <file>",
        "CA certificate (PEM) of admin ports served over HTTPS (servers with --admin-tls)",
      ).env("DLOCK_ADMIN_TLS_CA"),
    )
    .addOption(
      new Option("--timeout <duration>", "how long each admin port may take to answer")
        .env("DLOCK_TIMEOUT")
        .default(DEFAULT_SAVE_TIMEOUT),
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      exitCodesHelp([EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNAVAILABLE, EXIT.UNAUTHENTICATED]) +
        examplesHelp([
          "dlock snapshot save backup.dlock",
          "dlock snapshot save /backups/locks.dlock --admin 10.0.0.1:7201,10.0.0.2:7201 --auth-token-file ops.token",
        ]),
    )
    .action(
      namedAction("dlock snapshot save", async (file: string, flags: SaveFlags, cmd: Command) => {
        const addresses = parseEndpointList(flags.admin);
        if (addresses.length === 0) throw new CliExit(EXIT.USAGE, "--admin: no address given");
        const timeoutMs = parseDurationFlag("--timeout", flags.timeout);
        const authToken = await tokenOf(flags);
        const tlsCa =
          flags.adminTlsCa === undefined ? null : await readFile(flags.adminTlsCa, "utf8");
        const temporary = `${file}.${process.pid}.partial`;
        const outcome = await downloadSnapshot({
          addresses,
          authToken,
          tlsCa,
          timeoutMs,
          into: temporary,
        });
        if ("refusals" in outcome) {
          const lines = outcome.refusals.map(
            (r) => `  ${r.address}: ${r.status === null ? "" : `HTTP ${r.status}: `}${r.reason}`,
          );
          const unauthenticated = outcome.refusals.some(
            (r) => r.status === 401 || r.status === 403,
          );
          throw new CliExit(
            unauthenticated ? EXIT.UNAUTHENTICATED : EXIT.UNAVAILABLE,
            `no leader served a snapshot; give every member's admin address (--admin) and an admin token:\n${lines.join("\n")}`,
          );
        }
        const { checkBackupFile } = await import("@dlock/server");
        let header: BackupHeader;
        try {
          header = await checkBackupFile(temporary);
        } catch (error) {
          await rm(temporary, { force: true });
          throw new CliExit(
            EXIT.ERROR,
            `the downloaded snapshot does not verify: ${(error as Error).message}`,
          );
        }
        await rename(temporary, file);
        report(cmd, header, `saved ${file} from ${outcome.address}`);
      }),
    );

  snapshot
    .command("restore")
    .description(
      "verify a backup FILE and seed an empty data folder with it, as one founder of a NEW cluster; run it for every founder with the same --cluster, then start them with dlock server (same --id, --data, --cluster, --cluster-id)",
    )
    .argument("<file>", "a file written by dlock snapshot save")
    .addOption(
      new Option("--data <dir>", "the new node's data folder (must be empty or absent)")
        .env("DLOCK_DATA")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--id <id>", "the new node's id; must appear in --cluster")
        .env("DLOCK_ID")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--cluster <list>",
        "every member of the new cluster and its peer address: n1=host1:7101,n2=host2:7101,n3=host3:7101",
      )
        .env("DLOCK_CLUSTER")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--cluster-id <name>",
        "the new cluster's id, as its servers' --cluster-id (default: the saved cluster's)",
      ).env("DLOCK_CLUSTER_ID"),
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nEvery restored lock keeps its holder, value and fencing token; its lease starts again with a\n" +
        "full TTL when the new cluster elects a leader. New tokens are above every restored one.\n" +
        exitCodesHelp([EXIT.OK, EXIT.ERROR, EXIT.USAGE]) +
        examplesHelp([
          "dlock snapshot restore backup.dlock --data /var/lib/dlock --id n1 --cluster n1=10.0.0.1:7101,n2=10.0.0.2:7101,n3=10.0.0.3:7101",
        ]),
    )
    .action(
      namedAction(
        "dlock snapshot restore",
        async (file: string, flags: RestoreFlags, cmd: Command) => {
          const peers = parseClusterList("--cluster", flags.cluster);
          const { readBackup, restoreBackup, StorageError } = await import("@dlock/server");
          const bytes = await readFileOrExit(file);
          try {
            const clusterId = flags.clusterId ?? readBackup(bytes).header.clusterId;
            const { header } = await restoreBackup({
              file: bytes,
              dataDir: flags.data,
              clusterId,
              nodeId: flags.id,
              peers,
            });
            report(
              cmd,
              header,
              `restored ${file} into ${flags.data} as ${flags.id} of cluster "${clusterId}"`,
            );
          } catch (error) {
            if (error instanceof StorageError) {
              throw new CliExit(
                error.code === "RESTORE_REFUSED" ? EXIT.USAGE : EXIT.ERROR,
                `${error.message} (${error.code})`,
              );
            }
            throw error;
          }
        },
      ),
    );

  snapshot
    .command("inspect")
    .description("verify a backup FILE (SHA-256, structure) and print its header")
    .argument("<file>", "a file written by dlock snapshot save")
    .addOption(jsonOption())
    .action(
      namedAction("dlock snapshot inspect", async (file: string, _flags: unknown, cmd: Command) => {
        const { checkBackupFile } = await import("@dlock/server");
        try {
          report(cmd, await checkBackupFile(file), `${file} verifies`);
        } catch (error) {
          if (error instanceof CliExit) throw error;
          throw new CliExit(EXIT.ERROR, (error as Error).message);
        }
      }),
    );
}

async function tokenOf(flags: SaveFlags): Promise<string | null> {
  if (flags.authToken !== undefined) return flags.authToken;
  if (flags.authTokenFile === undefined) return null;
  try {
    return (await readFile(flags.authTokenFile, "utf8")).trim();
  } catch (error) {
    throw new CliExit(EXIT.USAGE, `--auth-token-file: ${(error as Error).message}`);
  }
}

async function readFileOrExit(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new CliExit(EXIT.ERROR, `cannot read ${file}: ${(error as Error).message}`);
  }
}

function report(cmd: Command, header: BackupHeader, done: string): void {
  if (jsonWanted(cmd)) {
    process.stdout.write(jsonLine(header));
    return;
  }
  process.stdout.write(
    `${done}\n` +
      `cluster ${header.clusterId}, index ${header.index}, term ${header.term}, ` +
      `${header.records} lock records, highest fencing token ${header.maxFencingToken}, ` +
      `saved by ${header.savedBy} at ${header.savedAt}\n`,
  );
}
