// `dlock server`: one member of a cluster. Every flag has an environment variable (containers).
import { Option } from "commander";
import type { Command } from "commander";
import { PERMITS_MAX, parseDuration } from "@dlock/client";
import type { ClientCertificateMode, DlockServer, LogLevel, ServerOptions } from "@dlock/server";
import { CliExit, EXIT } from "../exit-codes.js";
import { parseBooleanEnvironment, parseClusterList } from "../parse.js";

interface ServerFlags {
  id: string;
  data: string;
  cluster: string;
  join?: boolean;
  clusterId?: string;
  client?: string;
  advertiseClient?: string;
  peer?: string;
  http?: string;
  tick?: string;
  electionTicks?: string;
  ttlMin?: string;
  ttlMax?: string;
  waitMax?: string;
  waitersPerKeyMax?: string;
  locksMax?: string;
  semaphorePermitsMax?: string;
  compactionEntries?: string;
  compactionBytes?: string;
  fsync: boolean;
  shutdownTimeout?: string;
  peerSendQueue?: string;
  clientConnectionsMax?: string;
  clientConnectionsPerSource?: string;
  clientHandshakeTimeout?: string;
  clientIdleTimeout?: string;
  clientReplyBacklog?: string;
  clientReplyBacklogTotal?: string;
  clientStuckTimeout?: string;
  clientRate?: string;
  clientBurst?: string;
  adminConnectionsMax?: string;
  adminRequestsMax?: string;
  watchHistory?: string;
  logLevel?: string;
  authFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth?: string;
  adminTls?: boolean;
  insecure?: boolean;
  forceNewCluster?: boolean;
}

export function registerServerCommand(program: Command): void {
  program
    .command("server")
    .description(
      "run one member of a dlock cluster (stops gracefully on SIGTERM/SIGINT: a leader hands leadership over first)",
    )
    .addOption(
      new Option("--id <id>", "this node's id; must appear in --cluster")
        .env("DLOCK_ID")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--data <dir>", "data folder (LevelDB); created on first start, reused after")
        .env("DLOCK_DATA")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--cluster <list>",
        "the founding members and their peer addresses: n1=host1:7101,n2=host2:7101,n3=host3:7101; once a node has data its members come from the replicated configuration (dlock member changes it) and this list only gives addresses, which win for the members it names (a member that moved)",
      )
        .env("DLOCK_CLUSTER")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--join",
        "a new data folder joins a running cluster (reached through --cluster) instead of founding one: it has no members and never campaigns until the leader adds it (dlock member add, then dlock member promote) and sends it the log or a snapshot; also for a member whose data folder was lost (remove it, add it again); DLOCK_JOIN=1 or 0",
      ).env("DLOCK_JOIN"),
    )
    .addOption(
      new Option(
        "--cluster-id <name>",
        "cluster name; peers and data of another cluster are refused (default dlock)",
      ).env("DLOCK_CLUSTER_ID"),
    )
    .addOption(
      new Option("--client <host:port>", "client listen address (default 127.0.0.1:7001)").env(
        "DLOCK_CLIENT",
      ),
    )
    .addOption(
      new Option(
        "--advertise-client <host:port>",
        "address clients are redirected to when this node leads (default: --client, with the peer host if it listens on all interfaces)",
      ).env("DLOCK_ADVERTISE_CLIENT"),
    )
    .addOption(
      new Option(
        "--peer <host:port>",
        "peer listen address (default: this node's address in --cluster; off loopback it needs --tls-* or --insecure)",
      ).env("DLOCK_PEER"),
    )
    .addOption(
      new Option(
        "--http <host:port>",
        'admin HTTP address for /healthz /readyz /status /metrics, or "off" (default 127.0.0.1:7201)',
      ).env("DLOCK_HTTP"),
    )
    .addOption(new Option("--tick <duration>", "Raft tick length (default 50ms)").env("DLOCK_TICK"))
    .addOption(
      new Option(
        "--election-ticks <n>",
        "election timeout in ticks, randomized up to twice that (default 10)",
      ).env("DLOCK_ELECTION_TICKS"),
    )
    .addOption(
      new Option(
        "--ttl-min <duration>",
        "shortest lock TTL accepted (default and floor: 5 election timeouts)",
      ).env("DLOCK_TTL_MIN"),
    )
    .addOption(
      new Option("--ttl-max <duration>", "longest lock TTL accepted (default 24h)").env(
        "DLOCK_TTL_MAX",
      ),
    )
    .addOption(
      new Option("--wait-max <duration>", "longest queue wait accepted (default 24h)").env(
        "DLOCK_WAIT_MAX",
      ),
    )
    .addOption(
      new Option(
        "--waiters-per-key-max <n>",
        "queued acquires per key; one more is refused as LOCK_BUSY (default 256; a replicated limit: give every member the same)",
      ).env("DLOCK_WAITERS_PER_KEY_MAX"),
    )
    .addOption(
      new Option(
        "--locks-max <n>",
        "keys in the lock table (held, queued on or delayed); a new key beyond it is refused as LOCKS_FULL (default 1000000; a replicated limit: give every member the same)",
      ).env("DLOCK_LOCKS_MAX"),
    )
    .addOption(
      new Option(
        "--semaphore-permits-max <n>",
        `largest N (--permits) a semaphore may have; a larger one is refused as INVALID_ARGUMENT (default 1024, at most ${PERMITS_MAX}; a replicated limit: give every member the same)`,
      ).env("DLOCK_SEMAPHORE_PERMITS_MAX"),
    )
    .addOption(
      new Option(
        "--compaction-entries <n>",
        "keep the Raft log under this many entries (a snapshot and compaction starts at 3/4 of it); 0 = no entry limit (default 100000)",
      ).env("DLOCK_COMPACTION_ENTRIES"),
    )
    .addOption(
      new Option(
        "--compaction-bytes <size>",
        "keep the Raft log's entries under this much disk (bytes, or 512KiB, 64MiB, 1GiB; compaction starts at 3/4 of it); 0 = no byte limit (default 64MiB)",
      ).env("DLOCK_COMPACTION_BYTES"),
    )
    .addOption(
      new Option(
        "--no-fsync",
        "do not fsync (throwaway tests only: acknowledged writes can be lost)",
      ).env("DLOCK_NO_FSYNC"),
    )
    .addOption(
      new Option(
        "--shutdown-timeout <duration>",
        "how long a leader tries to hand leadership over on SIGTERM (default 5s)",
      ).env("DLOCK_SHUTDOWN_TIMEOUT"),
    )
    .addOption(
      new Option(
        "--peer-send-queue <size>",
        "bytes held for one peer (queued Raft messages and unsent socket bytes); a connected peer that does not read past it has its link and queue dropped, Raft retransmits after the redial (default 64MiB; at least the peer frame size, 4MiB)",
      ).env("DLOCK_PEER_SEND_QUEUE"),
    )
    .addOption(
      new Option(
        "--client-connections-max <n>",
        "client connections at once; the last quarter is kept for addresses holding fewer than 4 (default 1024)",
      ).env("DLOCK_CLIENT_CONNECTIONS_MAX"),
    )
    .addOption(
      new Option(
        "--client-connections-per-source <n>",
        "client connections from one remote address; more are refused with OVERLOADED (default 128)",
      ).env("DLOCK_CLIENT_CONNECTIONS_PER_SOURCE"),
    )
    .addOption(
      new Option(
        "--client-handshake-timeout <duration>",
        "a client connection must finish its TLS handshake and hello within this (default 5s)",
      ).env("DLOCK_CLIENT_HANDSHAKE_TIMEOUT"),
    )
    .addOption(
      new Option(
        "--client-idle-timeout <duration>",
        "close a client connection with nothing in flight and no traffic for this long; the client reconnects on its next call (default 60s)",
      ).env("DLOCK_CLIENT_IDLE_TIMEOUT"),
    )
    .addOption(
      new Option(
        "--client-reply-backlog <size>",
        "stop reading a client connection's requests while this much of its answers is unread (bytes, or 256KiB, 1MiB; default 256KiB)",
      ).env("DLOCK_CLIENT_REPLY_BACKLOG"),
    )
    .addOption(
      new Option(
        "--client-reply-backlog-total <size>",
        "unread answers across all client connections above which none with unread answers is read (default 64MiB)",
      ).env("DLOCK_CLIENT_REPLY_BACKLOG_TOTAL"),
    )
    .addOption(
      new Option(
        "--client-stuck-timeout <duration>",
        "close a client connection that leaves its answers unread this long (default 30s)",
      ).env("DLOCK_CLIENT_STUCK_TIMEOUT"),
    )
    .addOption(
      new Option(
        "--client-rate <n>",
        "sustained requests per second on one client connection; more get TOO_MANY_REQUESTS with retryAfterMs (default 100000)",
      ).env("DLOCK_CLIENT_RATE"),
    )
    .addOption(
      new Option(
        "--client-burst <n>",
        "requests one client connection may send at once above --client-rate (default 4096)",
      ).env("DLOCK_CLIENT_BURST"),
    )
    .addOption(
      new Option(
        "--admin-connections-max <n>",
        "connections to the admin HTTP port at once; more are closed (default 64)",
      ).env("DLOCK_ADMIN_CONNECTIONS_MAX"),
    )
    .addOption(
      new Option(
        "--admin-requests-max <n>",
        "admin HTTP requests handled at once; more get 503 with Retry-After (default 16)",
      ).env("DLOCK_ADMIN_REQUESTS_MAX"),
    )
    .addOption(
      new Option(
        "--watch-history <n>",
        "lock events the leader keeps for watchers to resume from (default 100000); a watcher further behind lists again",
      ).env("DLOCK_WATCH_HISTORY"),
    )
    .addOption(
      new Option("--log-level <level>", "log level of the JSON logs on stdout (default info)")
        .choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
        .env("DLOCK_LOG_LEVEL"),
    )
    .addOption(
      new Option(
        "--auth-file <path>",
        "principals, token hashes and grants (docs/security.md; dlock auth token makes lines); without it clients are not authenticated; SIGHUP re-reads it (a bad file keeps the old one)",
      ).env("DLOCK_AUTH_FILE"),
    )
    .addOption(
      new Option(
        "--tls-cert <file>",
        "PEM certificate of this node (dlock certs init makes it; it must name this node: dlock://node/<id>); with --tls-key and --tls-ca the client port speaks TLS and the peer port mutual TLS; SIGHUP re-reads the three files",
      ).env("DLOCK_TLS_CERT"),
    )
    .addOption(new Option("--tls-key <file>", "PEM private key of --tls-cert").env("DLOCK_TLS_KEY"))
    .addOption(
      new Option(
        "--tls-ca <file>",
        "PEM CA certificate that peer (and client) certificates must chain to",
      ).env("DLOCK_TLS_CA"),
    )
    .addOption(
      new Option(
        "--tls-client-auth <mode>",
        "client certificates on the client port: require, request (verify when presented), none (default request)",
      )
        .choices(["require", "request", "none"])
        .env("DLOCK_TLS_CLIENT_AUTH"),
    )
    .addOption(
      new Option(
        "--admin-tls",
        "HTTPS on the admin port with this node's certificate (needs --tls-*); DLOCK_ADMIN_TLS=1 or 0",
      ).env("DLOCK_ADMIN_TLS"),
    )
    .addOption(
      new Option(
        "--insecure",
        "allow ports on non-loopback addresses without TLS (trusted networks only: anyone reaching them can pose as a peer or client); DLOCK_INSECURE=1 or 0",
      ).env("DLOCK_INSECURE"),
    )
    .addOption(
      new Option(
        "--force-new-cluster",
        "lost quorum: make this surviving voter the only member (its locks and tokens kept), then add the others back with dlock member add; for ONE start only, remove it afterwards; DLOCK_FORCE_NEW_CLUSTER=1 or 0",
      ).env("DLOCK_FORCE_NEW_CLUSTER"),
    )
    .action(async (flags: ServerFlags, command: Command) => {
      // Commander turns --no-fsync on whenever DLOCK_NO_FSYNC exists, even "0" or "false": for a
      // durability switch the value must decide, so it is read here.
      if (command.getOptionValueSource("join") === "env") {
        flags.join = parseBooleanEnvironment("DLOCK_JOIN", process.env.DLOCK_JOIN ?? "");
      }
      for (const [flag, variable] of [
        ["adminTls", "DLOCK_ADMIN_TLS"],
        ["insecure", "DLOCK_INSECURE"],
        ["forceNewCluster", "DLOCK_FORCE_NEW_CLUSTER"],
      ] as const) {
        if (command.getOptionValueSource(flag) === "env") {
          flags[flag] = parseBooleanEnvironment(variable, process.env[variable] ?? "");
        }
      }
      if (command.getOptionValueSource("fsync") === "env") {
        flags.fsync = !parseBooleanEnvironment("DLOCK_NO_FSYNC", process.env.DLOCK_NO_FSYNC ?? "");
      }
      await runServer(serverOptionsFromFlags(flags));
    });
}

export function serverOptionsFromFlags(flags: ServerFlags): ServerOptions {
  const options: ServerOptions = {
    id: flags.id,
    dataDir: flags.data,
    peers: parseClusterList("--cluster", flags.cluster),
    join: flags.join,
    clusterId: flags.clusterId,
    clientListen: flags.client,
    advertisedClientAddress: flags.advertiseClient,
    peerListen: flags.peer,
    httpListen: flags.http === "off" ? null : flags.http,
    tickMs: duration("--tick", flags.tick),
    electionTicks: integer("--election-ticks", flags.electionTicks),
    ttlMsMin: duration("--ttl-min", flags.ttlMin),
    ttlMsMax: duration("--ttl-max", flags.ttlMax),
    waitMsMax: duration("--wait-max", flags.waitMax),
    waitersPerKeyMax: integer("--waiters-per-key-max", flags.waitersPerKeyMax),
    locksMax: integer("--locks-max", flags.locksMax),
    semaphorePermitsMax: integer("--semaphore-permits-max", flags.semaphorePermitsMax),
    compactionEntries: integer("--compaction-entries", flags.compactionEntries),
    compactionBytes: byteSize("--compaction-bytes", flags.compactionBytes),
    fsync: flags.fsync,
    shutdownTransferTimeoutMs: duration("--shutdown-timeout", flags.shutdownTimeout),
    peerSendQueueBytesMax: byteSize("--peer-send-queue", flags.peerSendQueue),
    clientConnectionsMax: integer("--client-connections-max", flags.clientConnectionsMax),
    clientConnectionsPerSourceMax: integer(
      "--client-connections-per-source",
      flags.clientConnectionsPerSource,
    ),
    clientHandshakeTimeoutMs: duration("--client-handshake-timeout", flags.clientHandshakeTimeout),
    clientIdleTimeoutMs: duration("--client-idle-timeout", flags.clientIdleTimeout),
    clientReplyBacklogBytesMax: byteSize("--client-reply-backlog", flags.clientReplyBacklog),
    clientReplyBacklogTotalBytesMax: byteSize(
      "--client-reply-backlog-total",
      flags.clientReplyBacklogTotal,
    ),
    clientStuckTimeoutMs: duration("--client-stuck-timeout", flags.clientStuckTimeout),
    clientRequestsPerSecond: integer("--client-rate", flags.clientRate),
    clientRequestBurst: integer("--client-burst", flags.clientBurst),
    adminConnectionsMax: integer("--admin-connections-max", flags.adminConnectionsMax),
    adminRequestsMax: integer("--admin-requests-max", flags.adminRequestsMax),
    watchHistoryEventsMax: integer("--watch-history", flags.watchHistory),
    logLevel: flags.logLevel as LogLevel | undefined,
    authFile: flags.authFile,
    tlsCertFile: flags.tlsCert,
    tlsKeyFile: flags.tlsKey,
    tlsCaFile: flags.tlsCa,
    tlsClientAuth: flags.tlsClientAuth as ClientCertificateMode | undefined,
    adminTls: flags.adminTls,
    insecure: flags.insecure,
    forceNewCluster: flags.forceNewCluster,
  };
  return options;
}

async function runServer(options: ServerOptions): Promise<void> {
  // Loaded here, not at the top: the client commands start ~300 ms faster without LevelDB & co.
  const { ConfigError, DlockServer } = await import("@dlock/server");
  let server: DlockServer;
  try {
    server = await DlockServer.start(options);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliExit(EXIT.USAGE, `dlock server: ${error.message}`);
    const err = error as NodeJS.ErrnoException;
    const hint =
      err.code === "EADDRINUSE"
        ? " (another process listens on that address: pick other ports or stop it)"
        : err.code === "EADDRNOTAVAIL"
          ? " (that address is not on this machine: --peer defaults to this node's --cluster address; set --peer, --client or --http to a local one)"
          : "";
    throw new CliExit(EXIT.ERROR, `dlock server: could not start: ${err.message}${hint}`);
  }
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        server.logger.warn({ signal }, "second signal: exiting without a graceful shutdown");
        process.exit(EXIT.ERROR);
      }
      server.logger.info({ signal }, "shutting down");
      server.stop().then(resolve, (error: unknown) => {
        server.logger.error({ err: error }, "shutdown failed");
        process.exitCode = EXIT.ERROR;
        resolve();
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    // Certificate rotation and auth file changes without a restart; a bad file keeps the old one.
    process.on("SIGHUP", () => {
      server.reloadAuth().then(
        (reloaded) => {
          if (reloaded !== null) server.logger.info(reloaded, "SIGHUP: reloaded the auth file");
        },
        (error: unknown) => {
          server.logger.error(
            { err: error, authFile: server.options.authFile },
            `SIGHUP: auth file reload failed; the old one stays in use: ${(error as Error).message}`,
          );
        },
      );
      server.reloadTls().then(
        (reloaded) => {
          if (reloaded) server.logger.info("SIGHUP: reloaded the TLS certificate, key and CA");
          else server.logger.info("SIGHUP: no TLS files to reload");
        },
        (error: unknown) => {
          server.logger.error(
            { err: error },
            "SIGHUP: TLS reload failed; the old certificate stays in use",
          );
        },
      );
    });
  });
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, flag);
  } catch (error) {
    throw new CliExit(EXIT.USAGE, `${flag}: ${(error as Error).message}`);
  }
}

const BYTE_UNITS: Record<string, number> = { "": 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

function byteSize(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*(kib|mib|gib)?$/i.exec(value.trim());
  const unitBytes = match === null ? undefined : BYTE_UNITS[(match[2] ?? "").toLowerCase()];
  if (match === null || unitBytes === undefined) {
    throw new CliExit(EXIT.USAGE, `${flag}: "${value}" is not a size (bytes, or e.g. 64MiB)`);
  }
  return Number(match[1]) * unitBytes;
}

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new CliExit(EXIT.USAGE, `${flag}: "${value}" is not a whole number`);
  return Number(value);
}
