import { HANDSHAKE_TIMEOUT_MS_DEFAULT, IN_FLIGHT_REQUESTS_MAX } from "@dlock/protocol";
import { parseHostPort } from "../transport/host-port.js";
import type { HostPort } from "../transport/host-port.js";
import { SILENT_NET_LOGGER } from "../transport/net-logger.js";
import type { NetLogger } from "../transport/net-logger.js";
import { NOOP_CLIENT_SERVER_METRICS } from "./client-server-metrics.js";
import type { ClientServerMetrics } from "./client-server-metrics.js";
import type { ClientRequestHandler } from "./client-request-handler.js";
import { validateTlsOptions } from "../transport/tls-options.js";
import type { ClientCertificateMode, TlsOptions } from "../transport/tls-options.js";

/** Open client connections; one more gets an OVERLOADED error frame and is closed. */
export const DEFAULT_CLIENT_CONNECTIONS_MAX = 1_024;
/** Requests in flight on one connection; more are answered TOO_MANY_REQUESTS (protocol contract). */
export const DEFAULT_CONNECTION_IN_FLIGHT_REQUESTS_MAX = IN_FLIGHT_REQUESTS_MAX;
/** Requests in flight on the whole server; more are answered OVERLOADED. */
export const DEFAULT_SERVER_IN_FLIGHT_REQUESTS_MAX = 65_536;
/** Client frames are small (a key ≤ 512 B, a value ≤ 256 B): a tight limit stops memory abuse. */
export const DEFAULT_CLIENT_FRAME_BYTES_MAX = 64 * 1024;
export const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS = HANDSHAKE_TIMEOUT_MS_DEFAULT;
/** A connection with nothing in flight and no traffic for this long is closed. */
export const DEFAULT_CLIENT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Answers buffered for a client that does not read them; beyond this the connection is closed. */
export const DEFAULT_CLIENT_SOCKET_WRITABLE_BYTES_MAX = 16 * 1024 * 1024;
/** Shortest lease accepted. The coordinator sets it from the election timeout (DESIGN §2). */
export const DEFAULT_TTL_MS_MIN = 1_000;
export const DEFAULT_TTL_MS_MAX = 60 * 60_000;
export const DEFAULT_WAIT_MS_MAX = 60 * 60_000;
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
  connectionInFlightRequestsMax?: number;
  serverInFlightRequestsMax?: number;
  frameBytesMax?: number;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  socketWritableBytesMax?: number;
  ttlMsMin?: number;
  ttlMsMax?: number;
  waitMsMax?: number;
  stopDrainTimeoutMs?: number;
  retryAfterMs?: number;
  /** TLS on the client port; with `ca`, client certificates are verified against it. */
  tls?: TlsOptions;
  /** Whether clients must present a certificate (with `tls.ca`). Default "require". */
  clientCertificates?: ClientCertificateMode;
  /** Monotonic clock in ms. Default performance.now. */
  nowMs?: () => number;
  logger?: NetLogger;
  metrics?: ClientServerMetrics;
}

export interface ResolvedClientServerOptions {
  nodeId: string;
  clusterId: string;
  listen: HostPort;
  handler: ClientRequestHandler;
  connectionsMax: number;
  connectionInFlightRequestsMax: number;
  serverInFlightRequestsMax: number;
  frameBytesMax: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  socketWritableBytesMax: number;
  ttlMsMin: number;
  ttlMsMax: number;
  waitMsMax: number;
  stopDrainTimeoutMs: number;
  retryAfterMs: number;
  tls: TlsOptions | null;
  clientCertificates: ClientCertificateMode;
  nowMs: () => number;
  logger: NetLogger;
  metrics: ClientServerMetrics;
}

export class ClientServerOptionsError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "ClientServerOptionsError";
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    throw new ClientServerOptionsError(`${name} must be a positive integer, got ${resolved}`);
  }
  return resolved;
}

export function resolveClientServerOptions(
  options: ClientServerOptions,
): ResolvedClientServerOptions {
  if (typeof options.nodeId !== "string" || options.nodeId.length === 0) {
    throw new ClientServerOptionsError("nodeId must be a non-empty string");
  }
  if (typeof options.clusterId !== "string" || options.clusterId.length === 0) {
    throw new ClientServerOptionsError("clusterId must be a non-empty string");
  }
  if (typeof options.handler?.handle !== "function") {
    throw new ClientServerOptionsError("handler must implement handle(request, context)");
  }
  let listen: HostPort;
  try {
    listen =
      typeof options.listen === "string" ? parseHostPort(options.listen, true) : options.listen;
  } catch (error) {
    throw new ClientServerOptionsError(`listen: ${(error as Error).message}`);
  }
  const ttlMsMin = positiveInteger(options.ttlMsMin, DEFAULT_TTL_MS_MIN, "ttlMsMin");
  const ttlMsMax = positiveInteger(options.ttlMsMax, DEFAULT_TTL_MS_MAX, "ttlMsMax");
  if (ttlMsMax < ttlMsMin) throw new ClientServerOptionsError("ttlMsMax must be ≥ ttlMsMin");
  return {
    nodeId: options.nodeId,
    clusterId: options.clusterId,
    listen,
    handler: options.handler,
    connectionsMax: positiveInteger(
      options.connectionsMax,
      DEFAULT_CLIENT_CONNECTIONS_MAX,
      "connectionsMax",
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
    ttlMsMin,
    ttlMsMax,
    waitMsMax: positiveInteger(options.waitMsMax, DEFAULT_WAIT_MS_MAX, "waitMsMax"),
    stopDrainTimeoutMs: positiveInteger(
      options.stopDrainTimeoutMs,
      DEFAULT_STOP_DRAIN_TIMEOUT_MS,
      "stopDrainTimeoutMs",
    ),
    retryAfterMs: positiveInteger(options.retryAfterMs, DEFAULT_RETRY_AFTER_MS, "retryAfterMs"),
    tls: options.tls === undefined ? null : validateTlsOptions(options.tls, "tls", false),
    clientCertificates: options.clientCertificates ?? "require",
    nowMs: options.nowMs ?? (() => performance.now()),
    logger: options.logger ?? SILENT_NET_LOGGER,
    metrics: options.metrics ?? NOOP_CLIENT_SERVER_METRICS,
  };
}
