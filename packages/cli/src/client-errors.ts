// Turns what the client library throws into one line on stderr and the exit code of docs/design.md §1.
import {
  ClusterUnavailableError,
  DlockError,
  InvalidArgumentError,
  LockBusyError,
  LockLostError,
  PermissionDeniedError,
  TimedOutError,
  UnauthenticatedError,
} from "@dlock/client";
import { CliExit, EXIT } from "./exit-codes.js";
import { formatMs } from "./output.js";

/** What the error message needs to say where the command looked. */
export interface ErrorContext {
  /** "dlock get", "dlock lock", ...: the prefix of every message. */
  command: string;
  endpoints: readonly string[];
  timeoutMs: number;
}

/** Option and request field names as the client library reports them → the flag a user typed. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  endpoints: "--endpoints",
  clusterId: "--cluster-id",
  unavailableTimeoutMs: "--timeout",
  ttl: "--ttl",
  ttlMs: "--ttl",
  refreshInterval: "--refresh-interval",
  retryInterval: "--retry-interval",
  retryLimit: "--retry-limit",
  wait: "--wait",
  waitMs: "--wait",
  token: "--token",
  authToken: "--auth-token",
  key: "<key>",
  value: "<value>",
  permits: "--permits",
  count: "--count",
};

/** The CliExit for an error from the client library; anything else is returned unchanged. */
export function cliExitFor(error: unknown, context: ErrorContext): unknown {
  const prefix = `${context.command}:`;
  if (error instanceof LockBusyError) {
    return new CliExit(
      EXIT.LOCK_BUSY,
      `${prefix} ${error.message}; try again later, or wait for it with --wait (e.g. --wait 1m) or --retry-limit`,
    );
  }
  if (error instanceof ClusterUnavailableError || error instanceof TimedOutError) {
    return new CliExit(EXIT.UNAVAILABLE, `${prefix} ${unavailableMessage(error, context)}`);
  }
  if (error instanceof InvalidArgumentError) {
    const flag = FLAG_OF_FIELD[error.field] ?? error.field;
    const detail = error.message.startsWith(`${error.field}: `)
      ? error.message.slice(error.field.length + 2)
      : error.message;
    return new CliExit(EXIT.USAGE, `${prefix} ${flag}: ${detail}`);
  }
  if (error instanceof UnauthenticatedError) {
    return new CliExit(
      EXIT.UNAUTHENTICATED,
      `${prefix} ${error.message} (set --auth-token, --auth-token-file or DLOCK_AUTH_TOKEN, or a client certificate)`,
    );
  }
  if (error instanceof PermissionDeniedError) {
    return new CliExit(
      EXIT.PERMISSION_DENIED,
      `${prefix} ${error.message}; ask an admin for a grant in the server's auth file`,
    );
  }
  if (error instanceof LockLostError) {
    return new CliExit(EXIT.LOCK_LOST, `${prefix} ${error.message}`);
  }
  if (error instanceof DlockError) {
    return new CliExit(EXIT.ERROR, `${prefix} ${error.message} (${error.code})`);
  }
  return error;
}

function unavailableMessage(error: DlockError, context: ErrorContext): string {
  const cause = error.cause instanceof Error ? error.cause : null;
  const where = `no leader answered within ${formatMs(context.timeoutMs)} from ${context.endpoints.join(",")}`;
  if (cause instanceof DlockError && cause.code === "HANDSHAKE_FAILED") {
    return `${where}: ${cause.message}: check --cluster-id (DLOCK_CLUSTER_ID)`;
  }
  const last = cause === null ? "" : ` (last error: ${cause.message})`;
  return `${where}${last}: is the cluster running? (pnpm start) Set --endpoints or DLOCK_ENDPOINTS to its client addresses`;
}
