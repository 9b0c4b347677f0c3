// The flags every client command takes (where the cluster is, how long to look for its leader,
// JSON output), and their mapping onto the Locker's options: the CLI adds nothing of its own.
import { readFileSync } from "node:fs";
import { Option } from "commander";
import type { Command } from "commander";
import { DEFAULT_UNAVAILABLE_TIMEOUT_MS } from "@dlock/client";
import type { ClientTlsOptions, LockerOptions } from "@dlock/client";
import { CliExit, EXIT } from "./exit-codes.js";
import { parseBooleanEnvironment, parseDurationFlag, parseEndpointList } from "./parse.js";

/** The client ports of the local three-node cluster that `pnpm start` runs. */
export const DEFAULT_ENDPOINTS = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";

export interface ClientFlags {
  endpoints: string;
  clusterId?: string;
  timeout?: string;
  json?: boolean;
  authToken?: string;
  authTokenFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The connection settings of one client command, parsed. */
export interface ClientSettings {
  endpoints: string[];
  clusterId: string | null;
  /** How long to look for a leader before giving up (exit 5). */
  timeoutMs: number;
  lockerOptions: LockerOptions;
}

/** Adds --endpoints, --cluster-id, --timeout, --tls-*, --auth-token(-file) and (unless `json` is false) --json. */
export function addClientOptions(command: Command, { json = true } = {}): Command {
  command
    .addOption(
      new Option(
        "--endpoints <list>",
        "client addresses of the cluster's members, comma-separated; any member will do (the leader is found)",
      )
        .env("DLOCK_ENDPOINTS")
        .default(DEFAULT_ENDPOINTS),
    )
    .addOption(
      new Option(
        "--cluster-id <name>",
        "refuse servers of another cluster (default: accept whichever cluster answers)",
      ).env("DLOCK_CLUSTER_ID"),
    )
    .addOption(
      new Option(
        "--timeout <duration>",
        `how long to look for a leader before giving up with exit 5 (default ${DEFAULT_UNAVAILABLE_TIMEOUT_MS / 1000}s)`,
      ).env("DLOCK_TIMEOUT"),
    )
    .addOption(
      new Option(
        "--auth-token <token>",
        "auth token for a server with an auth file (from dlock auth token); prefer --auth-token-file: a flag shows in ps",
      ).env("DLOCK_AUTH_TOKEN"),
    )
    .addOption(
      new Option(
        "--auth-token-file <path>",
        "file holding the auth token (surrounding whitespace ignored)",
      ).env("DLOCK_AUTH_TOKEN_FILE"),
    )
    .addOption(
      new Option(
        "--tls-ca <file>",
        "connect with TLS, verifying the servers against this PEM CA (the cluster's ca.pem)",
      ).env("DLOCK_TLS_CA"),
    )
    .addOption(
      new Option(
        "--tls-cert <file>",
        "PEM client certificate, for a cluster that authenticates clients by certificate (needs --tls-ca and --tls-key)",
      ).env("DLOCK_TLS_CERT"),
    )
    .addOption(
      new Option("--tls-key <file>", "PEM private key of --tls-cert").env("DLOCK_TLS_KEY"),
    );
  if (json) {
    command.addOption(
      new Option(
        "--json",
        "print one JSON object on stdout instead of text; DLOCK_JSON=1 or 0",
      ).env("DLOCK_JSON"),
    );
  }
  return command;
}

export function clientSettingsFromFlags(flags: ClientFlags): ClientSettings {
  const endpoints = parseEndpointList(flags.endpoints);
  if (endpoints.length === 0) {
    throw new CliExit(EXIT.USAGE, "--endpoints: needs at least one host:port");
  }
  const timeoutMs =
    flags.timeout === undefined
      ? DEFAULT_UNAVAILABLE_TIMEOUT_MS
      : parseDurationFlag("--timeout", flags.timeout);
  if (timeoutMs <= 0) throw new CliExit(EXIT.USAGE, "--timeout: must be positive");
  const clusterId = flags.clusterId ?? null;
  const authToken = authTokenFromFlags(flags);
  const tls = clientTlsFromFlags(flags);
  return {
    endpoints,
    clusterId,
    timeoutMs,
    lockerOptions: {
      endpoints,
      clusterId,
      unavailableTimeoutMs: timeoutMs,
      ...(authToken === null ? {} : { authToken }),
      ...(tls === null ? {} : { tls }),
    },
  };
}

function authTokenFromFlags(flags: ClientFlags): string | null {
  if (flags.authToken !== undefined && flags.authTokenFile !== undefined) {
    throw new CliExit(EXIT.USAGE, "--auth-token and --auth-token-file: give one, not both");
  }
  if (flags.authToken !== undefined) {
    if (flags.authToken.trim() === "") throw new CliExit(EXIT.USAGE, "--auth-token: is empty");
    return flags.authToken.trim();
  }
  if (flags.authTokenFile === undefined) return null;
  let text: string;
  try {
    text = readFileSync(flags.authTokenFile, "utf8");
  } catch (error) {
    throw new CliExit(
      EXIT.USAGE,
      `--auth-token-file: cannot read ${flags.authTokenFile}: ${(error as Error).message}`,
    );
  }
  const token = text.trim();
  if (token === "") {
    throw new CliExit(EXIT.USAGE, `--auth-token-file: ${flags.authTokenFile} is empty`);
  }
  return token;
}

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliExit(EXIT.USAGE, `${flag} ${file}: ${(error as Error).message}`);
  }
}

/** The Locker's TLS options from --tls-ca/--tls-cert/--tls-key, or null for plain TCP. */
export function clientTlsFromFlags(flags: ClientFlags): ClientTlsOptions | null {
  if (flags.tlsCa === undefined) {
    if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) {
      throw new CliExit(EXIT.USAGE, "--tls-cert/--tls-key need --tls-ca (the cluster's CA)");
    }
    return null;
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliExit(EXIT.USAGE, "--tls-cert and --tls-key go together: give both or neither");
  }
  const tls: ClientTlsOptions = { ca: readPem("--tls-ca", flags.tlsCa) };
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
    tls.cert = readPem("--tls-cert", flags.tlsCert);
    tls.key = readPem("--tls-key", flags.tlsKey);
  }
  return tls;
}

/**
 * Whether --json is on. Commander turns a boolean flag on whenever its environment variable
 * exists, whatever its value; DLOCK_JSON=0 must mean off, so the value is read here.
 */
export function jsonWanted(command: Command): boolean {
  if (command.getOptionValueSource("json") === "env") {
    return parseBooleanEnvironment("DLOCK_JSON", process.env.DLOCK_JSON ?? "");
  }
  return command.getOptionValue("json") === true;
}
