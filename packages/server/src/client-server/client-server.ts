// The client-facing TCP server: accepts connections up to a limit (per remote address, and in
// total with room kept for addresses holding few), runs each ClientConnection, keeps the budget
// of unread answers across connections, and flushes every connection's answers once per
// event-loop turn.
import { createServer } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Server as TlsServer, TLSSocket } from "node:tls";
import type { Server, Socket } from "node:net";
import { FRAME_BYTES_MAX, FrameEncoder, OverloadedError } from "@dlock/protocol";
import type { HostPort } from "@dlock/protocol";
import { LogOnce } from "../transport/log-once.js";
import { flushAtTurnEnd } from "../transport/turn-end.js";
import { ConfigError } from "@dlock/protocol";
import { boundAddress, listen } from "../transport/listen.js";
import { tlsServerOptions, validateTlsOptions } from "../transport/tls-options.js";
import type { TlsOptions } from "../transport/tls-options.js";
import { ClientConnection, sourceOf } from "./client-connection.js";
import type { ClientConnectionHost } from "./client-connection.js";
import type { ClientLimit } from "./client-server-metrics.js";
import {
  CONNECTIONS_PER_SOURCE_IN_RESERVE,
  CONNECTIONS_RESERVED_FRACTION,
} from "./client-server-options.js";
import { resolveClientServerOptions } from "./client-server-options.js";
import type { ClientServerOptions, ResolvedClientServerOptions } from "./client-server-options.js";

/** How long a refused connection gets to read its error frame before the cut. */
const REFUSAL_LINGER_MS = 1_000;

export class ClientServer implements ClientConnectionHost {
  readonly options: ResolvedClientServerOptions;
  /** Answers may be as large as any reader accepts (a status of a big cluster). */
  readonly encoder = new FrameEncoder(FRAME_BYTES_MAX);
  private readonly server: Server;
  private readonly connections = new Map<number, ClientConnection>();
  private readonly dirty = new Set<ClientConnection>();
  private flushScheduled = false;
  private nextConnectionId = 1;
  private inFlightTotal = 0;
  /** Open connections per remote address. */
  private readonly perSource = new Map<string, number>();
  private backlogTotal = 0;
  /** TLS connections per address still in their handshake (counted against the same limit). */
  private readonly handshaking = new Map<string, number>();
  /** Ends a handshake's count, by "address:port" (the raw socket and the TLS socket share it). */
  private readonly handshakeRelease = new Map<string, () => void>();
  private state: "new" | "started" | "stopping" | "stopped" = "new";
  private readonly flushBound = () => this.flushAll();
  private readonly logOnce = new LogOnce();

  constructor(options: ClientServerOptions) {
    this.options = resolveClientServerOptions(options);
    const onConnection = (socket: Socket) => this.onConnection(socket);
    if (this.options.tls === null) this.server = createServer(onConnection);
    else {
      const tlsServer = createTlsServer(
        // A TLS handshake that does not finish in time is cut like a missing hello.
        {
          ...tlsServerOptions(this.options.tls, this.options.clientCertificates),
          handshakeTimeout: this.options.handshakeTimeoutMs,
        },
        onConnection,
      );
      // Before TLS there is no way to send an error frame: over-limit handshakes are just closed.
      tlsServer.on("connection", (raw: Socket) => this.onTlsHandshakeStart(raw));
      // A handshake timeout only reports the error: the socket must be closed here.
      tlsServer.on("tlsClientError", (error, socket) =>
        this.rejectTls(socket, error.message, "closed a client connection"),
      );
      this.server = tlsServer;
    }
    this.server.on("error", (error) =>
      this.options.logger.error({ err: error }, "client listener error"),
    );
  }

  async start(): Promise<void> {
    if (this.state !== "new")
      throw new Error(`client server cannot start from state ${this.state}`);
    await listen(this.server, this.options.listen);
    this.state = "started";
  }

  /**
   * Replaces the key, certificate and CA (rotation) for new connections; open ones keep theirs.
   * Throws ConfigError, keeping the old ones, when the new ones do not load.
   */
  setTls(tls: TlsOptions): void {
    if (this.options.tls === null) {
      throw new ConfigError("tls", "the client port runs without TLS; restart to turn it on");
    }
    validateTlsOptions(tls, "tls", false);
    (this.server as TlsServer).setSecureContext(
      tlsServerOptions(tls, this.options.clientCertificates),
    );
    this.options.tls = tls;
  }

  /**
   * Checks every open connection's credentials again (auth file reload); returns how many were
   * closed because theirs are no longer valid.
   */
  reauthenticate(): number {
    let closed = 0;
    for (const connection of this.connections.values()) {
      if (!connection.reauthenticate()) closed++;
    }
    return closed;
  }

  address(): HostPort {
    return boundAddress(this.server, "client server");
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get inFlightRequests(): number {
    return this.inFlightTotal;
  }

  /**
   * Graceful stop: refuse new connections and requests, give in-flight requests up to
   * stopDrainTimeoutMs to answer, then close every connection.
   */
  async stop(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    const wasStarted = this.state === "started";
    this.state = "stopping";
    const closed = wasStarted
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    const connections = [...this.connections.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(connections.map((connection) => connection.drain())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.stopDrainTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // Ended sockets close once the client reads the end; those that do not are cut after a linger.
    for (const connection of this.connections.values()) connection.end();
    await Promise.all(connections.map((connection) => connection.closed));
    await closed;
    this.state = "stopped";
  }

  scheduleFlush(connection: ClientConnection): void {
    this.dirty.add(connection);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Answers completed anywhere in this turn (one commit resolves many requests) go out together.
    flushAtTurnEnd(this.flushBound);
  }

  acquireRequestSlot(): boolean {
    if (this.inFlightTotal >= this.options.serverInFlightRequestsMax) return false;
    this.inFlightTotal++;
    return true;
  }

  releaseRequestSlot(): void {
    this.inFlightTotal--;
  }

  backlogChanged(delta: number): void {
    this.backlogTotal += delta;
  }

  get backlogOverBudget(): boolean {
    return this.backlogTotal > this.options.serverReplyBacklogBytesMax;
  }

  /** Unread answer bytes across all connections (as of their last write or drain). */
  get replyBacklogBytes(): number {
    return this.backlogTotal;
  }

  limitApplied(connection: ClientConnection, limit: ClientLimit, message: string): void {
    this.options.metrics.limitApplied(limit);
    this.logLimit(connection.source, limit, message);
  }

  connectionClosed(connection: ClientConnection): void {
    this.connections.delete(connection.id);
    this.dirty.delete(connection);
    const source = connection.source;
    const count = (this.perSource.get(source) ?? 1) - 1;
    if (count <= 0) this.perSource.delete(source);
    else this.perSource.set(source, count);
    this.options.metrics.connectionsChanged(-1);
    const { handler } = this.options;
    if (handler.connectionClosed === undefined) return;
    try {
      handler.connectionClosed(connection.id);
    } catch (error) {
      this.options.logger.error(
        { err: error, connectionId: connection.id },
        "connectionClosed handler failed",
      );
    }
  }

  connectionRejected(connection: ClientConnection, reason: string, message: string): void {
    this.options.metrics.connectionRejected(reason);
    // Idle closes are routine; bad input is worth one line per source and reason, not a flood.
    if (reason === "IDLE") return;
    const remoteAddress = connection.socket.remoteAddress ?? "unknown";
    if (this.logOnce.first(remoteAddress, reason)) {
      this.options.logger.warn(
        { remoteAddress, clientId: connection.clientId, code: reason, reason: message },
        "closed a client connection",
      );
    }
  }

  private flushAll(): void {
    this.flushScheduled = false;
    for (const connection of this.dirty) connection.flush();
    this.dirty.clear();
  }

  private onTlsHandshakeStart(raw: Socket): void {
    if (this.state !== "started") return;
    const source = sourceOf(raw);
    const handshaking = this.handshaking.get(source) ?? 0;
    const held = (this.perSource.get(source) ?? 0) + handshaking;
    if (held >= this.options.connectionsPerSourceMax) {
      this.options.metrics.connectionRejected("OVERLOADED");
      this.options.metrics.limitApplied("source_connections");
      this.logLimit(source, "source_connections", `${held} connections or TLS handshakes already`);
      raw.destroy();
      return;
    }
    this.handshaking.set(source, handshaking + 1);
    const key = `${raw.remoteAddress}:${raw.remotePort}`;
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.handshakeRelease.delete(key);
      const count = (this.handshaking.get(source) ?? 1) - 1;
      if (count <= 0) this.handshaking.delete(source);
      else this.handshaking.set(source, count);
    };
    this.handshakeRelease.set(key, release);
    raw.once("close", release);
  }

  private onConnection(socket: Socket): void {
    this.handshakeRelease.get(`${socket.remoteAddress}:${socket.remotePort}`)?.();
    if (this.state !== "started") {
      socket.destroy();
      return;
    }
    if (this.options.tls !== null && this.presentedInvalidCertificate(socket as TLSSocket)) return;
    const { connectionsMax, connectionsPerSourceMax, retryAfterMs } = this.options;
    const source = sourceOf(socket);
    const fromSource = this.perSource.get(source) ?? 0;
    if (fromSource >= connectionsPerSourceMax) {
      const message = `this address already has ${fromSource} client connections (the most one address may open); close some or spread the clients over more addresses`;
      this.refuse(socket, source, "source_connections", new OverloadedError(message, retryAfterMs));
      return;
    }
    const unreserved = connectionsMax - Math.floor(connectionsMax * CONNECTIONS_RESERVED_FRACTION);
    const total = this.connections.size;
    if (
      total >= connectionsMax ||
      (total >= unreserved && fromSource >= CONNECTIONS_PER_SOURCE_IN_RESERVE)
    ) {
      const message = `the server has ${total} client connections (limit ${connectionsMax}, the last ${connectionsMax - unreserved} kept for addresses with fewer than ${CONNECTIONS_PER_SOURCE_IN_RESERVE}); retry later or connect to another node`;
      this.refuse(socket, source, "connections", new OverloadedError(message, retryAfterMs));
      return;
    }
    this.perSource.set(source, fromSource + 1);
    const connection = new ClientConnection(this.nextConnectionId++, socket, this);
    this.connections.set(connection.id, connection);
    this.options.metrics.connectionsChanged(1);
  }

  /** Logs a limit once per source address and limit (a flood is one line, not thousands). */
  private logLimit(source: string, limit: ClientLimit, message: string): void {
    if (!this.logOnce.first(source, limit)) return;
    this.options.logger.warn(
      { remoteAddress: source, limit, reason: message },
      "client limit applied",
    );
  }

  /**
   * With client certificates only requested, the TLS layer lets any certificate through; one that
   * does not verify against the CA is refused here (a client without one may authenticate otherwise).
   */
  private presentedInvalidCertificate(socket: TLSSocket): boolean {
    if (socket.authorized) return false;
    const certificate = socket.getPeerCertificate();
    if (certificate === null || Object.keys(certificate).length === 0) return false;
    this.rejectTls(
      socket,
      String(socket.authorizationError),
      "closed a client connection: its certificate does not verify against the CA",
    );
    return true;
  }

  /** Counts, logs once per address, and closes a connection refused at the TLS layer. */
  private rejectTls(socket: Socket, reason: string, message: string): void {
    this.options.metrics.connectionRejected("TLS_HANDSHAKE_FAILED");
    const remoteAddress = socket.remoteAddress ?? "unknown";
    if (this.logOnce.first(remoteAddress, "TLS_HANDSHAKE_FAILED")) {
      this.options.logger.warn({ remoteAddress, code: "TLS_HANDSHAKE_FAILED", reason }, message);
    }
    socket.destroy();
  }

  private refuse(socket: Socket, source: string, limit: ClientLimit, error: OverloadedError): void {
    this.options.metrics.connectionRejected(error.code);
    this.options.metrics.limitApplied(limit);
    this.logLimit(source, limit, error.message);
    socket.on("error", () => {});
    socket.end(this.encoder.encode({ type: "error", id: null, error: error.toWire() }));
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
  }
}
