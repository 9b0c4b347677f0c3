// `dlock certs init`: a development CA and node and client certificates (see certs/).
import { Option } from "commander";
import type { Command } from "commander";
import { CliExit, EXIT } from "../exit-codes.js";
import { parseEndpointList } from "../parse.js";

interface CertsInitFlags {
  dir: string;
  nodes: string;
  clients?: string;
  hosts?: string;
  days?: string;
}

export function registerCertsCommand(program: Command): void {
  const certs = program
    .command("certs")
    .description(
      "make TLS certificates for a cluster (a development CA; use your own PKI in production)",
    );
  certs
    .command("init")
    .description(
      "write ca.pem/ca-key.pem (reused if both are present; refused if only one is), <node>.pem/<node>-key.pem per node (SAN dlock://node/<id> plus --hosts) and client-<name>.pem/client-<name>-key.pem per client (CN=<name>); keys are 0600",
    )
    .addOption(
      new Option("--dir <dir>", "folder to write to").env("DLOCK_CERTS_DIR").default("certs"),
    )
    .addOption(
      new Option("--nodes <ids>", "node ids, comma-separated (e.g. n1,n2,n3)")
        .env("DLOCK_CERTS_NODES")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--clients <names>", "client names, comma-separated (e.g. admin,alice)").env(
        "DLOCK_CERTS_CLIENTS",
      ),
    )
    .addOption(
      new Option(
        "--hosts <list>",
        "host names and IPs the node certificates are valid for (default 127.0.0.1,::1,localhost)",
      ).env("DLOCK_CERTS_HOSTS"),
    )
    .addOption(new Option("--days <n>", "validity in days (default 365)").env("DLOCK_CERTS_DAYS"))
    .action(async (flags: CertsInitFlags) => {
      const nodes = parseEndpointList(flags.nodes);
      if (nodes.length === 0) throw new CliExit(EXIT.USAGE, "--nodes: needs at least one id");
      const days = flags.days === undefined ? undefined : Number(flags.days);
      if (days !== undefined && !(Number.isSafeInteger(days) && days >= 1)) {
        throw new CliExit(EXIT.USAGE, `--days: "${flags.days}" is not a whole number ≥ 1`);
      }
      // Loaded here: the other commands need neither the X.509 library nor its polyfill.
      const { CertificateError, writeDevCertificates } =
        await import("../certs/dev-certificates.js");
      try {
        const files = await writeDevCertificates({
          dir: flags.dir,
          nodes,
          clients: flags.clients === undefined ? [] : parseEndpointList(flags.clients),
          ...(flags.hosts === undefined ? {} : { hosts: parseEndpointList(flags.hosts) }),
          ...(days === undefined ? {} : { days }),
        });
        const written = [
          files.ca,
          ...Object.values(files.nodes).map((pair) => pair.cert),
          ...Object.values(files.clients).map((pair) => pair.cert),
        ];
        process.stdout.write(`wrote ${written.join(", ")} (and their -key.pem files, mode 0600)\n`);
      } catch (error) {
        if (error instanceof CertificateError)
          throw new CliExit(EXIT.USAGE, `dlock certs init: ${error.message}`);
        throw new CliExit(EXIT.ERROR, `dlock certs init: ${(error as Error).message}`);
      }
    });
}
