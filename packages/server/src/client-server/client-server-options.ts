import {
  ConfigError,
  HANDSHAKE_TIMEOUT_MS_DEFAULT,
  IN_FLIGHT_REQUESTS_MAX,
  nodeIdentityOptions,
  parseHostPort,
  positiveInteger,
} from "@dlock/protocol";
import type { HostPort } from "@dlock/protocol";
import { SILENT_LOGGER } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import { NOOP_CLIENT_SERVER_METRICS } from "./client-server-metrics.js";
import type { ClientServerMetrics } from "./client-server-metrics.js";
import type { ClientRequestHandler } from "./client-request-handler.js";
import { validateTlsOptions } from "../transport/tls-options.js";
import type { ClientCredentials } from "../auth/authenticator.js";
import type { Principal } from "../auth/grants.js";
import type { ClientCertificateMode, TlsOptions } from "../transport/tls-options.js";

/** Open client connections; one more gets an OVERLOADED error frame and is closed. */
export const DEFAULT_CLIENT_CONNECTIONS_MAX = 1_024;
/** Open client connections from one remote address; one more gets OVERLOADED. */
export const DEFAULT_CLIENT_CONNECTIONS_PER_SOURCE_MAX = 128;
/**
 * The last quarter of connectionsMax is kept for addresses holding fewer than
 * CONNECTIONS_PER_SOURCE_IN_RESERVE connections: sources that filled the rest cannot take it all.
 */
export const CONNECTIONS_RESERVED_FRACTION = 0.25;
export const CONNECTIONS_PER_SOURCE_IN_RESERVE = 4;
/** Requests in flight on one connection; more are answered TOO_MANY_REQUESTS (protocol contract). */
export const DEFAULT_CONNECTION_IN_FLIGHT_REQUESTS_MAX = IN_FLIGHT_REQUESTS_MAX;
/** Requests in flight on the whole server; more are answered OVERLOADED. */
export const DEFAULT_SERVER_IN_FLIGHT_REQUESTS_MAX = 65_536;
/** Client frames are small (a key ≤ 512 B, a value ≤ 256 B): a tight limit stops memory abuse. */
export const DEFAULT_CLIENT_FRAME_BYTES_MAX = 64 * 1024;
export const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS = HANDSHAKE_TIMEOUT_MS_DEFAULT;
/**
 * A connection with nothing in flight and no traffic for this long is closed. The client sends no
 * pings; it reconnects on its next call, so closing an idle connection costs it one handshake.
 */
export const DEFAULT_CLIENT_IDLE_TIMEOUT_MS = 60_000;
/** Answers buffered for a client that does not read them; beyond this the connection is closed. */
export const DEFAULT_CLIENT_SOCKET_WRITABLE_BYTES_MAX = 16 * 1024 * 1024;
/** Unread answers on one connection above which its requests are no longer read. */
export const DEFAULT_CLIENT_REPLY_BACKLOG_BYTES_MAX = 256 * 1024;
/** Unread answers across all connections above which no connection with a backlog is read. */
export const DEFAULT_SERVER_REPLY_BACKLOG_BYTES_MAX = 64 * 1024 * 1024;
/** A connection that stays paused on unread answers this long is closed (SLOW_CONSUMER). */
export const DEFAULT_CLIENT_STUCK_TIMEOUT_MS = 30_000;
/**
 * Sustained requests per second on one connection; more are answered TOO_MANY_REQUESTS. A client
 * multiplexes every lock of its application over one connection per node, so this must stay
 * above what the whole cluster serves (issue #13 aims at Redis's ~40k acquire+release cycles/s,
 * 80k requests): at 2,000 it capped such a client at 1,000 cycles/s, pausing it 32 ms at a time.
 * Fairness between connections is connectionFramesPerTurn's job, not this one's.
 */
export const DEFAULT_CONNECTION_REQUESTS_PER_SECOND = 100_000;
/** Requests one connection may send at once above the sustained rate (token bucket size). */
export const DEFAULT_CONNECTION_REQUEST_BURST = IN_FLIGHT_REQUESTS_MAX;
/**
 * Requests read from one connection per event-loop turn; the rest wait for the next turn, so
 * peer messages, ticks and other clients are served in between.
 */
export const DEFAULT_CONNECTION_FRAMES_PER_TURN = 64;
/** The lease and wait ranges a request may ask for (the lock table's limits in force). */
export interface DurationLimits {
  readonly ttlMsMin: number;
  readonly ttlMsMax: number;
  readonly waitMsMax: number;
}
/**
 * Ranges of a ClientServer given no lock table (its own tests). A server passes its table, whose
 * limits follow the election timeout and the log (docs/design.md §2, §2.6).
 */
export const DEFAULT_DURATION_LIMITS: { readonly limits: DurationLimits } = {
  limits: { ttlMsMin: 1_000, ttlMsMax: 60 * 60_000, waitMsMax: 60 * 60_000 },
};
/** On stop(), how long in-flight requests get to finish before connections are cut. */
export const DEFAULT_STOP_DRAIN_TIMEOUT_MS = 2_000;
/** Suggested back-off sent with TOO_MANY_REQUESTS / OVERLOADED. */
export const DEFAULT_RETRY_AFTER_MS = 50;

export interface ClientServerOptions {
  nodeId: string;
  clusterId: string;
  /** "host:port"; port 0 picks a free port (see address()). */
  listen: string | HostPort;
  handler: ClientRequestHandler;
  connectionsMax?: number;
  connectionsPerSourceMax?: number;
  connectionInFlightRequestsMax?: number;
  serverInFlightRequestsMax?: number;
  frameBytesMax?: number;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  socketWritableBytesMax?: number;
  replyBacklogBytesMax?: number;
  serverReplyBacklogBytesMax?: number;
  stuckTimeoutMs?: number;
  connectionRequestsPerSecond?: number;
  connectionRequestBurst?: number;
  connectionFramesPerTurn?: number;
  /**
   * The lease and wait ranges requests are checked against, read at each request: the lock table
   * (a LockStateMachine), whose limits in force are replicated state (design §2.6), not this
   * node's flags. apply() checks them again; this answers early, without a log entry.
   */
  durationLimits?: { readonly limits: DurationLimits };
  stopDrainTimeoutMs?: number;
  retryAfterMs?: number;
  /** TLS on the client port; with `ca`, client certificates are verified against it. */
  tls?: TlsOptions;
  /**
   * Who a connection is, from what it presented at the handshake; throws UnauthenticatedError to
   * refuse it. Absent: every connection is let in unauthenticated (principal null).
   */
  authenticate?: (credentials: ClientCredentials) => Principal;
  /** Whether clients must present a certificate (with `tls.ca`). Default "require". */
  clientCertificates?: ClientCertificateMode;
  /** Monotonic clock in ms. Default performance.now. */
  nowMs?: () => number;
  logger?: Logger;
  metrics?: ClientServerMetrics;
}

export interface ResolvedClientServerOptions {
  nodeId: string;
  clusterId: string;
  listen: HostPort;
  handler: ClientRequestHandler;
  connectionsMax: number;
  connectionsPerSourceMax: number;
  connectionInFlightRequestsMax: number;
  serverInFlightRequestsMax: number;
  frameBytesMax: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  socketWritableBytesMax: number;
  replyBacklogBytesMax: number;
  serverReplyBacklogBytesMax: number;
  stuckTimeoutMs: number;
  connectionRequestsPerSecond: number;
  connectionRequestBurst: number;
  connectionFramesPerTurn: number;
  durationLimits: { readonly limits: DurationLimits };
  stopDrainTimeoutMs: number;
  retryAfterMs: number;
  tls: TlsOptions | null;
  authenticate: ((credentials: ClientCredentials) => Principal) | null;
  clientCertificates: ClientCertificateMode;
  nowMs: () => number;
  logger: Logger;
  metrics: ClientServerMetrics;
}

export function resolveClientServerOptions(
  options: ClientServerOptions,
): ResolvedClientServerOptions {
  const { nodeId, clusterId } = nodeIdentityOptions(options);
  if (typeof options.handler?.handle !== "function") {
    throw new ConfigError("handler", "must implement handle(request, context)");
  }
  const listen = parseHostPort(options.listen, "listen", { portZero: true });
  return {
    nodeId,
    clusterId,
    listen,
    handler: options.handler,
    connectionsMax: positiveInteger(
      options.connectionsMax,
      DEFAULT_CLIENT_CONNECTIONS_MAX,
      "connectionsMax",
    ),
    connectionsPerSourceMax: positiveInteger(
      options.connectionsPerSourceMax,
      DEFAULT_CLIENT_CONNECTIONS_PER_SOURCE_MAX,
      "connectionsPerSourceMax",
    ),
    connectionInFlightRequestsMax: positiveInteger(
      options.connectionInFlightRequestsMax,
      DEFAULT_CONNECTION_IN_FLIGHT_REQUESTS_MAX,
      "connectionInFlightRequestsMax",
    ),
    serverInFlightRequestsMax: positiveInteger(
      options.serverInFlightRequestsMax,
      DEFAULT_SERVER_IN_FLIGHT_REQUESTS_MAX,
      "serverInFlightRequestsMax",
    ),
    frameBytesMax: positiveInteger(
      options.frameBytesMax,
      DEFAULT_CLIENT_FRAME_BYTES_MAX,
      "frameBytesMax",
    ),
    handshakeTimeoutMs: positiveInteger(
      options.handshakeTimeoutMs,
      DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS,
      "handshakeTimeoutMs",
    ),
    idleTimeoutMs: positiveInteger(
      options.idleTimeoutMs,
      DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
      "idleTimeoutMs",
    ),
    socketWritableBytesMax: positiveInteger(
      options.socketWritableBytesMax,
      DEFAULT_CLIENT_SOCKET_WRITABLE_BYTES_MAX,
      "socketWritableBytesMax",
    ),
    replyBacklogBytesMax: positiveInteger(
      options.replyBacklogBytesMax,
      DEFAULT_CLIENT_REPLY_BACKLOG_BYTES_MAX,
      "replyBacklogBytesMax",
    ),
    serverReplyBacklogBytesMax: positiveInteger(
      options.serverReplyBacklogBytesMax,
      DEFAULT_SERVER_REPLY_BACKLOG_BYTES_MAX,
      "serverReplyBacklogBytesMax",
    ),
    stuckTimeoutMs: positiveInteger(
      options.stuckTimeoutMs,
      DEFAULT_CLIENT_STUCK_TIMEOUT_MS,
      "stuckTimeoutMs",
    ),
    connectionRequestsPerSecond: positiveInteger(
      options.connectionRequestsPerSecond,
      DEFAULT_CONNECTION_REQUESTS_PER_SECOND,
      "connectionRequestsPerSecond",
    ),
    connectionRequestBurst: positiveInteger(
      options.connectionRequestBurst,
      DEFAULT_CONNECTION_REQUEST_BURST,
      "connectionRequestBurst",
    ),
    connectionFramesPerTurn: positiveInteger(
      options.connectionFramesPerTurn,
      DEFAULT_CONNECTION_FRAMES_PER_TURN,
      "connectionFramesPerTurn",
    ),
    durationLimits: options.durationLimits ?? DEFAULT_DURATION_LIMITS,
    stopDrainTimeoutMs: positiveInteger(
      options.stopDrainTimeoutMs,
      DEFAULT_STOP_DRAIN_TIMEOUT_MS,
      "stopDrainTimeoutMs",
    ),
    retryAfterMs: positiveInteger(options.retryAfterMs, DEFAULT_RETRY_AFTER_MS, "retryAfterMs"),
    tls: options.tls === undefined ? null : validateTlsOptions(options.tls, "tls", false),
    authenticate: options.authenticate ?? null,
    clientCertificates: options.clientCertificates ?? "require",
    nowMs: options.nowMs ?? (() => performance.now()),
    logger: options.logger ?? SILENT_LOGGER,
    metrics: options.metrics ?? NOOP_CLIENT_SERVER_METRICS,
  };
}
