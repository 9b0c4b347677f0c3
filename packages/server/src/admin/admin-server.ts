// The HTTP admin port: liveness, readiness, status JSON and Prometheus metrics. Read-only and
// small; it must keep answering while the node is busy or unhealthy, so every handler is bounded,
// and it must not take the event loop from the node: connections, requests in progress and
// /metrics renders are capped (admin-limits.ts).
import { createServer } from "node:http";
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server as HttpsServer } from "node:https";
import { durationMsOption, integerOption, positiveInteger } from "@dlock/protocol";
import type { AdminStatus } from "@dlock/protocol";
import { SILENT_LOGGER } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import {
  ADMIN_HEADERS_TIMEOUT_MS,
  ADMIN_KEEP_ALIVE_TIMEOUT_MS,
  ADMIN_REQUEST_TIMEOUT_MS,
  ADMIN_RETRY_AFTER_SECONDS,
  DEFAULT_ADMIN_CONNECTIONS_MAX,
  DEFAULT_ADMIN_REQUESTS_MAX,
  METRICS_RENDER_INTERVAL_MS,
  RenderGate,
} from "./admin-limits.js";
import { boundAddress, listen } from "../transport/listen.js";
import { tlsServerOptions, validateTlsOptions } from "../transport/tls-options.js";
import type { TlsOptions } from "../transport/tls-options.js";
import { ReadinessTracker } from "./readiness.js";
import type { ServerMetrics } from "./server-metrics.js";
import type { AdminStatusProvider } from "./status-provider.js";
import { serveSnapshot } from "./snapshot-endpoint.js";
import type { SnapshotSource } from "./snapshot-endpoint.js";

export const DEFAULT_ADMIN_HOST = "127.0.0.1";
export const DEFAULT_ADMIN_PORT = 7201;
/** /healthz fails when a storage write takes longer than this (a stuck disk is not healthy). */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 2_000;

export interface AdminServerOptions {
  provider: AdminStatusProvider;
  metrics: ServerMetrics;
  /** Default DEFAULT_ADMIN_HOST. */
  host?: string;
  /** Default DEFAULT_ADMIN_PORT; 0 picks a free port (see address()). */
  port?: number;
  /** Default DEFAULT_HEALTH_CHECK_TIMEOUT_MS. */
  healthCheckTimeoutMs?: number;
  /** Default DEFAULT_ADMIN_CONNECTIONS_MAX. */
  connectionsMax?: number;
  /** Default DEFAULT_ADMIN_REQUESTS_MAX. */
  requestsMax?: number;
  /** Default METRICS_RENDER_INTERVAL_MS. */
  metricsRenderIntervalMs?: number;
  logger?: Logger;
  /** HTTPS with this key and certificate (client certificates are not asked for). Default: HTTP. */
  tls?: TlsOptions;
  /** Serves GET /snapshot (the backup of `dlock snapshot save`); 404 without it. */
  snapshot?: SnapshotSource;
  /**
   * Readiness fed with the host's leader changes (see ReadinessTracker.leaderSeen). Default: a
   * tracker fed only by the status of each request.
   */
  readiness?: ReadinessTracker;
}

export interface ResolvedAdminServerOptions {
  provider: AdminStatusProvider;
  metrics: ServerMetrics;
  host: string;
  port: number;
  healthCheckTimeoutMs: number;
  connectionsMax: number;
  requestsMax: number;
  metricsRenderIntervalMs: number;
  logger: Logger;
  tls: TlsOptions | null;
  snapshot: SnapshotSource | null;
  readiness: ReadinessTracker;
}

export function resolveAdminServerOptions(options: AdminServerOptions): ResolvedAdminServerOptions {
  const port = integerOption(options.port, DEFAULT_ADMIN_PORT, "port", 0, 65_535);
  const healthCheckTimeoutMs = durationMsOption(
    options.healthCheckTimeoutMs,
    DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
    "healthCheckTimeoutMs",
  );
  const connectionsMax = positiveInteger(
    options.connectionsMax,
    DEFAULT_ADMIN_CONNECTIONS_MAX,
    "connectionsMax",
  );
  const requestsMax = positiveInteger(
    options.requestsMax,
    DEFAULT_ADMIN_REQUESTS_MAX,
    "requestsMax",
  );
  const metricsRenderIntervalMs = durationMsOption(
    options.metricsRenderIntervalMs,
    METRICS_RENDER_INTERVAL_MS,
    "metricsRenderIntervalMs",
    0,
  );
  return {
    provider: options.provider,
    metrics: options.metrics,
    host: options.host ?? DEFAULT_ADMIN_HOST,
    port,
    healthCheckTimeoutMs,
    connectionsMax,
    requestsMax,
    metricsRenderIntervalMs,
    logger: options.logger ?? SILENT_LOGGER,
    tls: options.tls === undefined ? null : validateTlsOptions(options.tls, "tls", false),
    snapshot: options.snapshot ?? null,
    readiness: options.readiness ?? new ReadinessTracker(),
  };
}

export class AdminServer {
  private readonly options: ResolvedAdminServerOptions;
  private readonly server: Server;
  private listening = false;
  private requestsInProgress = 0;
  private readonly metricsGate: RenderGate;
  private overloadLogged = false;

  constructor(options: AdminServerOptions) {
    this.options = resolveAdminServerOptions(options);
    const { metrics } = this.options;
    this.metricsGate = new RenderGate(() => metrics.render(), this.options.metricsRenderIntervalMs);
    const listener: RequestListener = (request, response) => this.onRequest(request, response);
    const { tls } = this.options;
    this.server =
      tls === null
        ? createServer(listener)
        : createHttpsServer(tlsServerOptions(tls, "none"), listener);
    // Admin requests are tiny; an idle or slow client must not hold sockets forever.
    this.server.requestTimeout = ADMIN_REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = ADMIN_HEADERS_TIMEOUT_MS;
    this.server.keepAliveTimeout = ADMIN_KEEP_ALIVE_TIMEOUT_MS;
    this.server.maxConnections = this.options.connectionsMax;
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    if (this.requestsInProgress >= this.options.requestsMax) {
      if (!this.overloadLogged) {
        this.overloadLogged = true;
        this.options.logger.warn(
          { requestsMax: this.options.requestsMax },
          "admin port busy: refusing requests with 503 (logged once)",
        );
      }
      response.setHeader("retry-after", String(ADMIN_RETRY_AFTER_SECONDS));
      response.shouldKeepAlive = false;
      sendJson(response, 503, { error: "busy: too many admin requests at once; retry later" });
      return;
    }
    this.requestsInProgress++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.requestsInProgress--;
    };
    response.once("close", finish);
    response.once("finish", finish);
    this.route(request, response).catch((error: unknown) => {
      this.options.logger.error({ err: error, url: request.url }, "admin request failed");
      if (!response.headersSent) sendJson(response, 500, { error: "internal error" });
      else response.destroy();
    });
  }

  async start(): Promise<void> {
    await listen(this.server, { host: this.options.host, port: this.options.port });
    this.listening = true;
  }

  /** Replaces the key and certificate for new connections (rotation); throws if they do not load. */
  setTls(tls: TlsOptions): void {
    if (this.options.tls === null) return;
    validateTlsOptions(tls, "tls", false);
    (this.server as HttpsServer).setSecureContext(tlsServerOptions(tls, "none"));
    this.options.tls = tls;
  }

  /** The bound address (useful with port 0). */
  address(): { host: string; port: number } {
    return boundAddress(this.server, "admin server");
  }

  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      sendJson(response, 405, { error: "method not allowed" });
      return;
    }
    const path = (request.url ?? "/").split("?", 1)[0];
    switch (path) {
      case "/healthz":
        return this.healthz(response);
      case "/readyz":
        return this.readyz(response);
      case "/status":
        return this.status(response);
      case "/metrics":
        return this.metrics(response);
      case "/snapshot":
        if (this.options.snapshot !== null) {
          return serveSnapshot(this.options.snapshot, request, response);
        }
        break;
    }
    sendJson(response, 404, {
      error: "not found",
      paths: ["/healthz", "/readyz", "/status", "/metrics", "/snapshot"],
    });
  }

  private async healthz(response: ServerResponse): Promise<void> {
    try {
      await withTimeout(
        this.options.provider.checkStorageWritable(),
        this.options.healthCheckTimeoutMs,
        "storage write check timed out",
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      sendJson(response, 503, { ok: false, reason: "storage-unwritable", detail: reason });
      return;
    }
    sendJson(response, 200, { ok: true });
  }

  private readyz(response: ServerResponse): void {
    const readiness = this.options.readiness.observe(this.options.provider.status());
    sendJson(response, readiness.ready ? 200 : 503, readiness);
  }

  private status(response: ServerResponse): void {
    const status = this.options.provider.status();
    const readiness = this.options.readiness.observe(status);
    const body: AdminStatus = { ...status, ready: readiness.ready };
    sendJson(response, 200, body);
  }

  private async metrics(response: ServerResponse): Promise<void> {
    const body = await this.metricsGate.next();
    response.statusCode = 200;
    response.setHeader("content-type", this.options.metrics.contentType);
    response.end(body);
  }
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.statusCode = statusCode;
  response.setHeader("content-type", "application/json; charset=utf-8");
  response.setHeader("cache-control", "no-store");
  response.end(text);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
