import {
  DEFAULT_CLIENT_CONNECTIONS_MAX,
  DEFAULT_CLIENT_CONNECTIONS_PER_SOURCE_MAX,
  DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
  DEFAULT_CLIENT_REPLY_BACKLOG_BYTES_MAX,
  DEFAULT_CLIENT_STUCK_TIMEOUT_MS,
  DEFAULT_CONNECTION_REQUEST_BURST,
  DEFAULT_CONNECTION_REQUESTS_PER_SECOND,
  DEFAULT_SERVER_REPLY_BACKLOG_BYTES_MAX,
} from "../client-server/client-server-options.js";
import { DEFAULT_WATCH_OPTIONS } from "../watch/watch-options.js";
import {
  DEFAULT_ADMIN_CONNECTIONS_MAX,
  DEFAULT_ADMIN_REQUESTS_MAX,
} from "../admin/admin-limits.js";
import { DEFAULT_LOCK_LIMITS, resolveLockLimits } from "../lock/index.js";
import type { ResolvedLockLimits } from "../lock/index.js";
import type { ClientCertificateMode } from "../transport/tls-options.js";
import { CLIENT_CERTIFICATE_MODES } from "../transport/tls-options.js";
import { DEFAULT_SEND_QUEUE_BYTES_MAX } from "../transport/peer-transport.js";
import {
  ConfigError,
  formatHostPort,
  integerOption,
  isLoopbackHost,
  isWildcardHost,
  parseHostPort,
} from "@dlock/protocol";
import type { HostPortRules } from "@dlock/protocol";
import { renameDeprecatedServerOptions } from "./deprecated-options.js";
import type { DeprecatedServerOptions } from "./deprecated-options.js";

/**
 * Every address option is parsed as a listen address (port 0, empty host); those that others dial
 * (peers, advertisedClientAddress) are then refused a wildcard or port 0 with their own message.
 */
const LISTEN: HostPortRules = { portZero: true, hostEmpty: true };

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/**
 * Everything a `dlock server` process is configured with. The CLI maps each flag and environment
 * variable onto one field, 1:1, and adds nothing. Every field but `id`, `dataDir` and `peers` has a
 * default (DEFAULT_SERVER_OPTIONS). Durations are in milliseconds, sizes in bytes.
 */
export interface ServerOptions extends DeprecatedServerOptions {
  /** This node's id; must be a key of `peers`. */
  id: string;
  /** Folder of this node's LevelDB (created on first start). */
  dataDir: string;
  /** Name of the cluster; peers and data folders of another cluster are refused. */
  clusterId?: string;
  /** Where clients connect ("host:port"). */
  clientListen?: string;
  /** Address clients are redirected to for this node; defaults to clientListen (peer host if wildcard). */
  advertisedClientAddress?: string;
  /** Where peers connect ("host:port"); defaults to the port of peers[id] on all interfaces. */
  peerListen?: string;
  /** Admin HTTP (/healthz, /readyz, /metrics, /status); null turns it off. */
  httpListen?: string | null;
  /**
   * Peer addresses: id → "host:port". For a new cluster, its initial voters. With `join`, the
   * members to reach (and this node). Once the node has a data folder, the replicated members
   * (changed with `dlock member`) take precedence; this list only adds addresses.
   */
  peers: Record<string, string>;
  /**
   * A new data folder joins a running cluster instead of founding one: the node starts with no
   * members, never campaigns, and learns the members from the leader (after `dlock member add`,
   * or as the same id after its data folder was lost). Ignored once the folder exists.
   */
  join?: boolean;
  /** Length of a Raft tick. */
  tickMs?: number;
  /** Election timeout in ticks (randomized up to twice that). */
  electionTicks?: number;
  /** Heartbeat interval in ticks; < electionTicks. */
  heartbeatTicks?: number;
  /** Shortest lock TTL; at least TTL_MIN_ELECTION_TIMEOUTS election timeouts. Default: that floor. */
  ttlMsMin?: number;
  /** Longest lock TTL. */
  ttlMsMax?: number;
  /** Longest time an acquire may wait in a key's queue. */
  waitMsMax?: number;
  /** Longest lock delay an acquire may ask for; 0 turns lock delay off. */
  lockDelayMsMax?: number;
  keyBytesMax?: number;
  valueBytesMax?: number;
  waitersPerKeyMax?: number;
  /** Keys in the lock table (held, queued on or delayed). */
  locksMax?: number;
  /** Largest N a semaphore may have (PERMITS_MAX at most); a larger one is INVALID_ARGUMENT. */
  semaphorePermitsMax?: number;
  /**
   * Recent lock events the leader keeps for watchers to resume from; one further behind gets
   * WATCH_REVISION_COMPACTED and lists again.
   */
  watchHistoryEventsMax?: number;
  /** Largest frame on the peer port (Raft appends and snapshot chunks). */
  peerFrameBytesMax?: number;
  /**
   * Bytes held for one peer (queued messages and unsent socket bytes) above which a peer that
   * does not read has its link dropped; ≥ peerFrameBytesMax.
   */
  peerSendQueueBytesMax?: number;
  /** Largest frame on the client port (requests are small; a bigger frame is an attack). */
  clientFrameBytesMax?: number;
  /** Client connections at once (the last quarter kept for addresses holding few). */
  clientConnectionsMax?: number;
  /** Client connections from one remote address. */
  clientConnectionsPerSourceMax?: number;
  /** A client connection must finish its TLS handshake and hello within this. */
  clientHandshakeTimeoutMs?: number;
  /** A client connection with nothing in flight and no traffic for this long is closed. */
  clientIdleTimeoutMs?: number;
  /** Unread answers on one client connection above which its requests are no longer read. */
  clientReplyBacklogBytesMax?: number;
  /** Unread answers across all client connections above which none with a backlog is read. */
  clientReplyBacklogTotalBytesMax?: number;
  /** A client connection paused on unread answers this long is closed. */
  clientStuckTimeoutMs?: number;
  /** Sustained requests per second on one client connection; more get TOO_MANY_REQUESTS. */
  clientRequestsPerSecond?: number;
  /** Requests one client connection may send at once above the sustained rate. */
  clientRequestBurst?: number;
  /** Connections to the admin HTTP port at once; more are closed at once. */
  adminConnectionsMax?: number;
  /** Admin HTTP requests handled at once; more are answered 503 with Retry-After. */
  adminRequestsMax?: number;
  /** Requests in flight per client connection. */
  requestsPerConnectionMax?: number;
  /** Proposals waiting to apply on this node. */
  pendingProposalsMax?: number;
  /** Snapshot and compact the Raft log once it holds this many entries; 0 = no entry limit. */
  compactionEntries?: number;
  /** Snapshot and compact the Raft log once its entries take this many bytes on disk; 0 = no byte limit. */
  compactionBytes?: number;
  /** fsync where durability is promised. Off only for throwaway tests: acknowledged writes can be lost. */
  fsync?: boolean;
  /** On SIGTERM a leader hands leadership over for at most this long before it stops. */
  shutdownTransferTimeoutMs?: number;
  logLevel?: LogLevel;
  /**
   * Principals, their token hashes and grants (see docs/security.md). Null: no client
   * authentication, every client may do everything (as before auth files existed).
   */
  authFile?: string | null;
  /**
   * PEM files of this node's certificate and key, and of the cluster CA. With them the client port
   * speaks TLS and the peer port mutual TLS (a peer is the node its certificate names). All three
   * or none. Re-read by reloadTls() (SIGHUP).
   */
  tlsCertFile?: string | null;
  tlsKeyFile?: string | null;
  tlsCaFile?: string | null;
  /** Client certificates on the client port: required, verified when presented, or not asked. */
  tlsClientAuth?: ClientCertificateMode;
  /** HTTPS on the admin port with the node's certificate. */
  adminTls?: boolean;
  /**
   * Listen on non-loopback addresses without TLS. Anyone who reaches a port can then pose as a
   * peer or a client: for trusted, isolated networks only.
   */
  insecure?: boolean;
  /**
   * Lost quorum: before starting, rewrite the membership to this node alone (config entries that
   * remove every other member, at a term above the stored one, committed with the rest of its
   * log). For the one start after a disaster; members are added back with `dlock member add`.
   */
  forceNewCluster?: boolean;
}

export const DEFAULT_SERVER_OPTIONS = {
  clusterId: "dlock",
  clientListen: "127.0.0.1:7001",
  httpListen: "127.0.0.1:7201",
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  // ttlMsMax, waitMsMax, lockDelayMsMax, keyBytesMax, valueBytesMax, waitersPerKeyMax, locksMax,
  // semaphorePermitsMax
  ...DEFAULT_LOCK_LIMITS,
  watchHistoryEventsMax: DEFAULT_WATCH_OPTIONS.historyEventsMax,
  peerFrameBytesMax: 4 * 1024 * 1024,
  peerSendQueueBytesMax: DEFAULT_SEND_QUEUE_BYTES_MAX,
  clientFrameBytesMax: 64 * 1024,
  clientConnectionsMax: DEFAULT_CLIENT_CONNECTIONS_MAX,
  clientConnectionsPerSourceMax: DEFAULT_CLIENT_CONNECTIONS_PER_SOURCE_MAX,
  clientHandshakeTimeoutMs: DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS,
  clientIdleTimeoutMs: DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
  clientReplyBacklogBytesMax: DEFAULT_CLIENT_REPLY_BACKLOG_BYTES_MAX,
  clientReplyBacklogTotalBytesMax: DEFAULT_SERVER_REPLY_BACKLOG_BYTES_MAX,
  clientStuckTimeoutMs: DEFAULT_CLIENT_STUCK_TIMEOUT_MS,
  clientRequestsPerSecond: DEFAULT_CONNECTION_REQUESTS_PER_SECOND,
  clientRequestBurst: DEFAULT_CONNECTION_REQUEST_BURST,
  adminConnectionsMax: DEFAULT_ADMIN_CONNECTIONS_MAX,
  adminRequestsMax: DEFAULT_ADMIN_REQUESTS_MAX,
  requestsPerConnectionMax: 4096,
  pendingProposalsMax: 65_536,
  compactionEntries: 100_000,
  compactionBytes: 64 * 1024 * 1024,
  join: false,
  fsync: true,
  shutdownTransferTimeoutMs: 5_000,
  logLevel: "info",
  authFile: null,
  tlsCertFile: null,
  tlsKeyFile: null,
  tlsCaFile: null,
  tlsClientAuth: "request",
  adminTls: false,
  insecure: false,
  forceNewCluster: false,
} as const satisfies Partial<ServerOptions>;

export interface ResolvedServerOptions extends Required<
  Omit<
    ServerOptions,
    "httpListen" | "tlsCertFile" | "tlsKeyFile" | "tlsCaFile" | keyof DeprecatedServerOptions
  >
> {
  httpListen: string | null;
  /** The three TLS files, or null without TLS. */
  tlsFiles: TlsFiles | null;
  /** electionTicks × tickMs. */
  electionTimeoutMs: number;
  /** The lock table's limits, validated (every member must run the same ones). */
  lockLimits: ResolvedLockLimits;
}

const LOG_LEVELS: readonly LogLevel[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Fills defaults and validates; throws ConfigError naming the first bad option. Pure: it does not
 * touch the disk or the network.
 */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (options === null || typeof options !== "object") {
    throw new ConfigError("options", "must be an object");
  }
  const given = renameDeprecatedServerOptions(
    Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined),
    ) as ServerOptions,
  );
  const merged = { ...DEFAULT_SERVER_OPTIONS, ...given };

  const id = checkId("id", merged.id);
  if (typeof merged.dataDir !== "string" || merged.dataDir.length === 0) {
    throw new ConfigError("dataDir", "must be a non-empty path");
  }
  const clusterId = checkId("clusterId", merged.clusterId);

  if (merged.peers === null || typeof merged.peers !== "object" || Array.isArray(merged.peers)) {
    throw new ConfigError("peers", "must map node ids to host:port addresses");
  }
  const peers: Record<string, string> = {};
  for (const [peerId, address] of Object.entries(merged.peers)) {
    checkId("peers", peerId);
    const parsed = parseHostPort(address, `peers.${peerId}`, LISTEN);
    if (parsed.port === 0 || isWildcardHost(parsed.host)) {
      throw new ConfigError(`peers.${peerId}`, `"${address}" must be a reachable host and port`);
    }
    peers[peerId] = formatHostPort(parsed);
  }
  if (!(id in peers)) {
    throw new ConfigError("peers", `must include this node's id "${id}"`);
  }

  const clientListen = formatHostPort(parseHostPort(merged.clientListen, "clientListen", LISTEN));
  const selfPeer = parseHostPort(peers[id], `peers.${id}`, LISTEN);
  // By default a node listens for peers only where the others reach it, not on every interface.
  const peerListen = formatHostPort(
    merged.peerListen === undefined
      ? selfPeer
      : parseHostPort(merged.peerListen, "peerListen", LISTEN),
  );
  let httpListen: string | null = null;
  if (merged.httpListen !== null) {
    httpListen = formatHostPort(parseHostPort(merged.httpListen, "httpListen", LISTEN));
  }
  let advertisedClientAddress: string;
  if (merged.advertisedClientAddress !== undefined) {
    const parsed = parseHostPort(merged.advertisedClientAddress, "advertisedClientAddress", LISTEN);
    if (parsed.port === 0 || isWildcardHost(parsed.host)) {
      throw new ConfigError("advertisedClientAddress", "must be a reachable host and port");
    }
    advertisedClientAddress = formatHostPort(parsed);
  } else {
    const client = parseHostPort(clientListen, "clientListen", LISTEN);
    if (client.port === 0) {
      throw new ConfigError(
        "advertisedClientAddress",
        "is required when clientListen uses port 0 (clients could not be redirected here)",
      );
    }
    advertisedClientAddress = formatHostPort(
      isWildcardHost(client.host) ? { host: selfPeer.host, port: client.port } : client,
    );
  }

  const tlsFiles = resolveTlsFiles(merged);
  if (!CLIENT_CERTIFICATE_MODES.includes(merged.tlsClientAuth)) {
    throw new ConfigError("tlsClientAuth", `must be one of ${CLIENT_CERTIFICATE_MODES.join(", ")}`);
  }
  if (merged.tlsClientAuth === "require" && tlsFiles === null) {
    throw new ConfigError(
      "tlsClientAuth",
      "require needs TLS: give --tls-cert, --tls-key and --tls-ca",
    );
  }
  if (typeof merged.adminTls !== "boolean")
    throw new ConfigError("adminTls", "must be true or false");
  if (merged.adminTls && tlsFiles === null) {
    throw new ConfigError("adminTls", "needs TLS: give --tls-cert, --tls-key and --tls-ca");
  }
  if (typeof merged.insecure !== "boolean")
    throw new ConfigError("insecure", "must be true or false");
  if (!merged.insecure) {
    checkSecureListen("clientListen", clientListen, tlsFiles !== null);
    checkSecureListen("peerListen", peerListen, tlsFiles !== null);
    if (httpListen !== null) checkSecureListen("httpListen", httpListen, merged.adminTls);
  }

  const positive = [
    "tickMs",
    "electionTicks",
    "heartbeatTicks",
    "ttlMsMax",
    "waitMsMax",
    "keyBytesMax",
    "valueBytesMax",
    "waitersPerKeyMax",
    "locksMax",
    "semaphorePermitsMax",
    "watchHistoryEventsMax",
    "peerFrameBytesMax",
    "peerSendQueueBytesMax",
    "clientFrameBytesMax",
    "clientConnectionsMax",
    "clientConnectionsPerSourceMax",
    "clientHandshakeTimeoutMs",
    "clientIdleTimeoutMs",
    "clientReplyBacklogBytesMax",
    "clientReplyBacklogTotalBytesMax",
    "clientStuckTimeoutMs",
    "clientRequestsPerSecond",
    "clientRequestBurst",
    "adminConnectionsMax",
    "adminRequestsMax",
    "requestsPerConnectionMax",
    "pendingProposalsMax",
    "shutdownTransferTimeoutMs",
  ] as const;
  for (const key of positive) integerOption(merged[key], undefined, key, 1);
  if (merged.peerSendQueueBytesMax < merged.peerFrameBytesMax) {
    throw new ConfigError(
      "peerSendQueueBytesMax",
      `${merged.peerSendQueueBytesMax} must be ≥ peerFrameBytesMax (${merged.peerFrameBytesMax}): one full frame must fit`,
    );
  }
  integerOption(merged.lockDelayMsMax, undefined, "lockDelayMsMax", 0);
  integerOption(merged.compactionEntries, undefined, "compactionEntries", 0);
  integerOption(merged.compactionBytes, undefined, "compactionBytes", 0);
  if (merged.heartbeatTicks >= merged.electionTicks) {
    throw new ConfigError(
      "heartbeatTicks",
      `${merged.heartbeatTicks} must be < electionTicks (${merged.electionTicks})`,
    );
  }
  if (typeof merged.fsync !== "boolean") throw new ConfigError("fsync", "must be true or false");
  if (typeof merged.join !== "boolean") throw new ConfigError("join", "must be true or false");
  if (typeof merged.forceNewCluster !== "boolean") {
    throw new ConfigError("forceNewCluster", "must be true or false");
  }
  if (merged.authFile !== null && (typeof merged.authFile !== "string" || merged.authFile === "")) {
    throw new ConfigError("authFile", "must be the path of an auth file, or null");
  }
  if (!LOG_LEVELS.includes(merged.logLevel)) {
    throw new ConfigError("logLevel", `must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const electionTimeoutMs = merged.tickMs * merged.electionTicks;
  // The lock table checks its limits (the TTL floor among them) and names the one at fault.
  const lockLimits = resolveLockLimits({
    electionTimeoutMs,
    keyBytesMax: merged.keyBytesMax,
    valueBytesMax: merged.valueBytesMax,
    ttlMsMin: merged.ttlMsMin,
    ttlMsMax: merged.ttlMsMax,
    waitMsMax: merged.waitMsMax,
    waitersPerKeyMax: merged.waitersPerKeyMax,
    locksMax: merged.locksMax,
    lockDelayMsMax: merged.lockDelayMsMax,
    semaphorePermitsMax: merged.semaphorePermitsMax,
  });
  const ttlMsMin = lockLimits.ttlMsMin;

  return {
    ...merged,
    id,
    clusterId,
    peers,
    clientListen,
    peerListen,
    httpListen,
    advertisedClientAddress,
    tlsFiles,
    ttlMsMin,
    electionTimeoutMs,
    lockLimits,
  };
}

function resolveTlsFiles(options: ServerOptions): TlsFiles | null {
  const files = {
    tlsCertFile: options.tlsCertFile ?? null,
    tlsKeyFile: options.tlsKeyFile ?? null,
    tlsCaFile: options.tlsCaFile ?? null,
  };
  const given = Object.entries(files).filter(([, file]) => file !== null);
  if (given.length === 0) return null;
  for (const [option, file] of Object.entries(files)) {
    if (typeof file !== "string" || file.length === 0) {
      throw new ConfigError(
        option,
        "TLS needs all three files: --tls-cert, --tls-key and --tls-ca (dlock certs init makes them)",
      );
    }
  }
  return { certFile: files.tlsCertFile!, keyFile: files.tlsKeyFile!, caFile: files.tlsCaFile! };
}

/** Off loopback, a port without TLS lets anyone on the network pose as a peer or a client. */
function checkSecureListen(option: string, address: string, tls: boolean): void {
  if (tls || isLoopbackHost(parseHostPort(address, option, LISTEN).host)) return;
  const listenFlag = { clientListen: "--client", peerListen: "--peer", httpListen: "--http" }[
    option
  ];
  const tlsFlags =
    option === "httpListen"
      ? "--admin-tls (with --tls-cert/--tls-key/--tls-ca)"
      : "--tls-cert, --tls-key and --tls-ca";
  throw new ConfigError(
    option,
    `${listenFlag} ${address} is not a loopback address and the port has no TLS: give ${tlsFlags} (dlock certs init makes them), listen on 127.0.0.1, or pass --insecure (DLOCK_INSECURE=1) on a trusted network`,
  );
}

function checkId(option: string, value: unknown): string {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new ConfigError(
      option,
      `${JSON.stringify(value)} must be 1-64 characters of letters, digits, "_", "." or "-"`,
    );
  }
  return value;
}
