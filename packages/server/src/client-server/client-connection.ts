// One client connection: hello exchange, then pipelined requests answered in completion order.
// Answers produced during one event-loop turn are written together (one buffer) by the server's
// flush. Fairness: at most connectionFramesPerTurn requests are handled per turn (the rest wait
// for the next, so peers, ticks and other clients run in between), a token bucket bounds the
// request rate (one TOO_MANY_REQUESTS, then the connection is not read until tokens are back), and reading stops while the client leaves too many answers unread (closed if it
// stays stuck). Protocol errors get an error frame with id null and a close; a bad field in an otherwise
// readable request gets an error for that request id and the connection stays up.
//
// States: hello → open → (draining on server stop) → closing (error frame sent, ending) → closed.
import type { Socket } from "node:net";
import {
  checkHello,
  DlockError,
  errorToWire,
  FrameDecoder,
  FrameTooLargeError,
  HandshakeFailedError,
  InternalError,
  InvalidArgumentError,
  MalformedFrameError,
  parseClientRequest,
  parseHello,
  peekRequestId,
  helloVersionFields,
} from "@dlock/protocol";
import type { ClientRequest, ErrorFrame, FrameEncoder, OkFrame, WireError } from "@dlock/protocol";
import type { ClientRequestContext, ClientResult } from "./client-request-handler.js";
import { certificateNameOf } from "../auth/certificate-name.js";
import type { Principal } from "../auth/grants.js";
import type { ClientCredentials } from "../auth/authenticator.js";
import type { ClientLimit } from "./client-server-metrics.js";
import type { ResolvedClientServerOptions } from "./client-server-options.js";

/** After a connection-level error frame, how long the client gets to read it before the cut. */
const ERROR_LINGER_MS = 1_000;

export type ClientConnectionState = "hello" | "open" | "draining" | "closing" | "closed";

/** What a connection needs from its server. */
export interface ClientConnectionHost {
  readonly options: ResolvedClientServerOptions;
  readonly encoder: FrameEncoder;
  scheduleFlush(connection: ClientConnection): void;
  /** Takes one slot of the server-wide in-flight budget; false when none is left. */
  acquireRequestSlot(): boolean;
  releaseRequestSlot(): void;
  connectionClosed(connection: ClientConnection): void;
  /** Counts (and logs once per remote address and reason) a connection closed for cause. */
  connectionRejected(connection: ClientConnection, reason: string, message: string): void;
  /** Counts (and logs once per remote address and limit) a fairness limit acting. */
  limitApplied(connection: ClientConnection, limit: ClientLimit, message: string): void;
  /** This connection's unread answers changed by `delta` bytes (the server-wide budget). */
  backlogChanged(delta: number): void;
  /** True while unread answers across all connections exceed serverReplyBacklogBytesMax. */
  readonly backlogOverBudget: boolean;
}

/** A frame decoded but not handled yet, or the decoder's failure after the frames before it. */
type QueuedFrame = { body: unknown } | { failure: unknown };

export class ClientConnection {
  readonly id: number;
  readonly socket: Socket;
  /** The remote address the per-source limits count this connection against. */
  readonly source: string;
  clientId = "";
  /** Set at the handshake when the server authenticates clients. */
  principal: Principal | null = null;
  /** What it presented at the handshake, to check again when the auth file is reloaded. */
  private credentials: ClientCredentials | null = null;
  inFlight = 0;
  private state: ClientConnectionState = "hello";
  private readonly host: ClientConnectionHost;
  private readonly decoder: FrameDecoder;
  private handshakeTimer: NodeJS.Timeout | null;
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  /** Receipt time of the chunk being decoded: one clock read per chunk, not per request. */
  private chunkReceivedAtMs = 0;
  private readonly onFrameBound = (body: unknown) => this.queue.push({ body });
  /** Decoded frames waiting for a turn (at most connectionFramesPerTurn are handled per turn). */
  private queue: QueuedFrame[] = [];
  private queueHead = 0;
  private turnScheduled = false;
  private readonly turnBound = () => {
    this.turnScheduled = false;
    this.handleQueued();
  };
  /** socket.writableLength as of the last write or drain: what the server budget counts. */
  private backlogBytes = 0;
  private readPaused = false;
  private stuckTimer: NodeJS.Timeout | null = null;
  /** Set while the connection is over its request rate: nothing is read or handled. */
  private throttleTimer: NodeJS.Timeout | null = null;
  /** Token bucket of the request rate. */
  private tokens: number;
  private tokensAtMs: number;
  private drainWaiter: (() => void) | null = null;
  private closedResolve!: () => void;
  /** Resolves once the socket has closed. */
  readonly closed = new Promise<void>((resolve) => {
    this.closedResolve = resolve;
  });

  constructor(id: number, socket: Socket, host: ClientConnectionHost) {
    this.id = id;
    this.socket = socket;
    this.source = sourceOf(socket);
    this.host = host;
    const { options } = host;
    this.decoder = new FrameDecoder({ frameBytesMax: options.frameBytesMax });
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on("timeout", () => this.onIdle());
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    this.tokens = options.connectionRequestBurst;
    this.tokensAtMs = options.nowMs();
    socket.on("error", () => {
      // Resets from clients that went away are routine; the close handler cleans up.
    });
    socket.once("close", () => this.onClose());
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      this.closeWithError(
        new HandshakeFailedError("timeout", "no hello within the handshake timeout"),
      );
    }, options.handshakeTimeoutMs);
    // Both sides send their hello at once (protocol contract); the client checks our cluster id.
    this.enqueue(
      host.encoder.encode({
        type: "hello",
        ...helloVersionFields(),
        clusterId: options.clusterId,
        role: "client",
        nodeId: options.nodeId,
      }),
    );
  }

  get currentState(): ClientConnectionState {
    return this.state;
  }

  /** Writes every answer queued since the last flush in one go. Called by the server once per turn. */
  flush(): void {
    if (this.outbox.length === 0) return;
    const socket = this.socket;
    if (socket.destroyed) {
      this.outbox = [];
      this.outboxBytes = 0;
      return;
    }
    if (socket.writableLength + this.outboxBytes > this.host.options.socketWritableBytesMax) {
      // The client stopped reading its answers: buffering more would grow without bound.
      this.host.connectionRejected(this, "SLOW_CONSUMER", "the client does not read its answers");
      this.outbox = [];
      this.outboxBytes = 0;
      socket.destroy();
      return;
    }
    const outbox = this.outbox;
    const bytes = this.outboxBytes;
    this.outbox = [];
    this.outboxBytes = 0;
    // One buffer per flush, not one write per answer: a socket destroyed with answers unread
    // fails every buffered write separately, and thousands of those stall the loop.
    socket.write(outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox, bytes));
    this.setBacklog(socket.writableLength);
  }

  /** Server stop: accept no more requests, let in-flight ones answer. Resolves when none is left. */
  drain(): Promise<void> {
    if (this.state === "hello" || this.state === "open") this.state = "draining";
    this.socket.pause();
    if (this.inFlight === 0 || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  /** Flushes what is queued and ends the connection (server stop). */
  end(): void {
    if (this.state === "closed") return;
    this.flush();
    this.state = "closing";
    this.socket.end();
    setTimeout(() => this.socket.destroy(), ERROR_LINGER_MS).unref();
  }

  /**
   * Checks the handshake's credentials again (the auth file was reloaded): later requests use the
   * principal's new grants; credentials no longer in the file close the connection with
   * UNAUTHENTICATED. Returns false when it was closed.
   */
  reauthenticate(): boolean {
    const authenticate = this.host.options.authenticate;
    if (authenticate === null || this.credentials === null || this.state !== "open") return true;
    try {
      this.principal = authenticate(this.credentials);
      return true;
    } catch (error) {
      this.closeWithError(
        error instanceof DlockError ? error : new InternalError((error as Error).message),
      );
      return false;
    }
  }

  /** Sends a connection-level error (id null), then closes. */
  closeWithError(error: DlockError): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.clearHandshakeTimer();
    this.host.connectionRejected(this, error.code, error.message);
    const frame = this.host.encoder.encode({ type: "error", id: null, error: error.toWire() });
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    this.flush();
    this.state = "closing";
    this.socket.end();
    setTimeout(() => this.socket.destroy(), ERROR_LINGER_MS).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.state !== "hello" && this.state !== "open") return;
    this.chunkReceivedAtMs = this.host.options.nowMs();
    try {
      this.decoder.push(chunk, this.onFrameBound);
    } catch (error) {
      // The frames before the bad bytes are still answered, then the connection closes.
      this.queue.push({ failure: error });
    }
    this.handleQueued();
  }

  /**
   * Handles up to connectionFramesPerTurn queued frames; the rest wait for the next turn, or, while
   * the client leaves its answers unread, until it reads them.
   */
  private handleQueued(): void {
    let budget = this.host.options.connectionFramesPerTurn;
    while (
      this.queueHead < this.queue.length &&
      budget > 0 &&
      !this.backlogged() &&
      this.throttleTimer === null
    ) {
      if (this.state !== "hello" && this.state !== "open") break;
      const item = this.queue[this.queueHead++]!; // the loop's first test: queueHead < length
      budget--;
      try {
        if ("failure" in item) throw item.failure;
        this.onFrame(item.body);
      } catch (error) {
        this.closeWithError(
          error instanceof DlockError ? error : new InternalError("failed to read a request"),
        );
      }
    }
    if (this.queueHead >= this.queue.length || (this.state !== "hello" && this.state !== "open")) {
      this.queue = [];
      this.queueHead = 0;
    } else if (!this.backlogged() && this.throttleTimer === null) this.scheduleTurn();
    this.updateReading();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.turnBound);
  }

  private backlogged(): boolean {
    return (
      this.backlogBytes > this.host.options.replyBacklogBytesMax ||
      (this.backlogBytes > 0 && this.host.backlogOverBudget)
    );
  }

  /**
   * Reads the socket only while this connection has nothing queued and its client reads its
   * answers: a client that stops reading stops being read, and is closed if it stays stuck.
   */
  private updateReading(): void {
    if (this.state === "closed") return;
    const backlogged = this.backlogged();
    const pause =
      backlogged ||
      this.throttleTimer !== null ||
      this.queueHead < this.queue.length ||
      (this.state !== "hello" && this.state !== "open");
    if (pause && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    } else if (!pause && this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    if (backlogged && this.stuckTimer === null) {
      this.host.limitApplied(this, "reply_backlog", "the client does not read its answers");
      this.stuckTimer = setTimeout(() => this.onStuck(), this.host.options.stuckTimeoutMs);
      this.stuckTimer.unref();
    } else if (!backlogged && this.stuckTimer !== null) {
      this.clearStuckTimer();
      // The client read its answers: the requests that waited are handled now.
      if (this.queueHead < this.queue.length) this.scheduleTurn();
    }
  }

  private onStuck(): void {
    this.stuckTimer = null;
    if (this.state === "closed") return;
    this.host.connectionRejected(
      this,
      "SLOW_CONSUMER",
      `the client left its answers unread for ${this.host.options.stuckTimeoutMs} ms`,
    );
    this.socket.destroy();
  }

  private onDrain(): void {
    this.setBacklog(this.socket.writableLength);
  }

  private setBacklog(bytes: number): void {
    if (bytes === this.backlogBytes) return;
    this.host.backlogChanged(bytes - this.backlogBytes);
    this.backlogBytes = bytes;
    this.updateReading();
  }

  private clearStuckTimer(): void {
    if (this.stuckTimer !== null) clearTimeout(this.stuckTimer);
    this.stuckTimer = null;
  }

  /**
   * A client over its rate got one TOO_MANY_REQUESTS; rather than read and refuse everything it
   * keeps sending, its requests wait (unread) until a turn's worth of tokens is back (≤ 1 s).
   */
  private throttle(waitMs: number): void {
    if (this.throttleTimer !== null) return;
    const { connectionFramesPerTurn, connectionRequestsPerSecond } = this.host.options;
    const refillMs = Math.ceil((connectionFramesPerTurn * 1_000) / connectionRequestsPerSecond);
    this.throttleTimer = setTimeout(
      () => {
        this.throttleTimer = null;
        if (this.state === "closed") return;
        this.updateReading();
        if (this.queueHead < this.queue.length) this.scheduleTurn();
      },
      Math.max(waitMs, Math.min(refillMs, 1_000)),
    );
    this.throttleTimer.unref();
  }

  /** Takes one token of the request rate; when none is left, the milliseconds until one is. */
  private takeToken(nowMs: number): number {
    const { connectionRequestsPerSecond: rate, connectionRequestBurst: burst } = this.host.options;
    this.tokens = Math.min(burst, this.tokens + ((nowMs - this.tokensAtMs) * rate) / 1_000);
    this.tokensAtMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens--;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1_000) / rate);
  }

  private onFrame(body: unknown): void {
    if (this.state === "open") {
      this.onRequest(body);
      return;
    }
    if (this.state !== "hello") return;
    const hello = parseHello(body);
    const mismatch = checkHello(hello, {
      role: "client",
      clusterId: this.host.options.clusterId,
      allowAnyClusterId: true,
    });
    if (mismatch !== null) throw mismatch;
    this.clientId = hello.clientId ?? hello.nodeId ?? "";
    const authenticate = this.host.options.authenticate;
    if (authenticate !== null) {
      // Refused at the handshake (UNAUTHENTICATED, then closed): no request of it is ever read.
      const credentials: ClientCredentials = {
        authToken: hello.authToken ?? null,
        certificateName: certificateNameOf(this.socket),
      };
      this.principal = authenticate(credentials);
      this.credentials = credentials;
    }
    this.clearHandshakeTimer();
    this.state = "open";
  }

  private onRequest(body: unknown): void {
    const receivedAtMs = this.chunkReceivedAtMs;
    const { options } = this.host;
    let request: ClientRequest;
    try {
      request = parseClientRequest(body);
      checkServerLimits(request, options);
    } catch (error) {
      const id = peekRequestId(body);
      // A readable request with a bad field: answer it and keep the connection.
      if (error instanceof InvalidArgumentError && id !== null) {
        this.answerError(id, requestTypeOf(body), error.toWire(), receivedAtMs);
        return;
      }
      throw error instanceof DlockError ? error : new MalformedFrameError("unreadable request");
    }
    // Refusals are answered with a plain wire error, not an Error: a flood of them must not pay
    // for a stack trace each.
    const waitMs = this.takeToken(options.nowMs());
    if (waitMs > 0) {
      this.refuse(request, receivedAtMs, "request_rate", "request rate above the limit", {
        code: "TOO_MANY_REQUESTS",
        message: `more than ${options.connectionRequestsPerSecond} requests per second on this connection`,
        retryAfterMs: Math.max(options.retryAfterMs, waitMs),
      });
      this.throttle(waitMs);
      return;
    }
    if (this.inFlight >= options.connectionInFlightRequestsMax) {
      this.refuse(request, receivedAtMs, "in_flight", "too many requests in flight", {
        code: "TOO_MANY_REQUESTS",
        message: `more than ${options.connectionInFlightRequestsMax} requests in flight on this connection`,
        retryAfterMs: options.retryAfterMs,
      });
      return;
    }
    if (!this.host.acquireRequestSlot()) {
      const message = "the server has too many requests in flight";
      this.refuse(request, receivedAtMs, "server_in_flight", message, {
        code: "OVERLOADED",
        message,
        retryAfterMs: options.retryAfterMs,
      });
      return;
    }
    this.inFlight++;
    const context: ClientRequestContext = {
      connectionId: this.id,
      clientId: this.clientId,
      principal: this.principal,
      receivedAtMs,
    };
    let pending: Promise<ClientResult>;
    try {
      pending = options.handler.handle(request, context);
    } catch (error) {
      pending = Promise.reject(error);
    }
    const id = request.id;
    const type = request.type;
    pending.then(
      (result) => this.settle(id, type, receivedAtMs, result, null),
      (error: unknown) => this.settle(id, type, receivedAtMs, undefined, error),
    );
  }

  private settle(
    id: number,
    type: string,
    receivedAtMs: number,
    result: ClientResult | undefined,
    error: unknown,
  ): void {
    this.inFlight--;
    this.host.releaseRequestSlot();
    if (this.state === "open" || this.state === "draining") {
      if (error === null) this.answerOk(id, type, result as ClientResult, receivedAtMs);
      else {
        if (!(error instanceof DlockError)) {
          this.host.options.logger.error(
            { err: error, type, connectionId: this.id },
            "request handler failed",
          );
        }
        this.answerError(id, type, errorToWire(error), receivedAtMs);
      }
    }
    if (this.inFlight === 0 && this.drainWaiter !== null) {
      const resolve = this.drainWaiter;
      this.drainWaiter = null;
      resolve();
    }
  }

  private answerOk(id: number, type: string, result: ClientResult, receivedAtMs: number): void {
    const frame: OkFrame<ClientResult> = { type: "ok", id, result };
    let bytes: Buffer;
    try {
      bytes = this.host.encoder.encode(frame);
    } catch (error) {
      const wire = errorToWire(
        error instanceof FrameTooLargeError
          ? new InternalError("answer too large for one frame")
          : error,
      );
      this.answerError(id, type, wire, receivedAtMs);
      return;
    }
    this.enqueue(bytes);
    this.host.options.metrics.requestCompleted(
      type,
      "ok",
      this.host.options.nowMs() - receivedAtMs,
    );
  }

  /** Answers a request a limit refused; the host counts it and logs the limit once. */
  private refuse(
    request: ClientRequest,
    receivedAtMs: number,
    limit: ClientLimit,
    reason: string,
    error: WireError,
  ): void {
    this.host.limitApplied(this, limit, reason);
    this.answerError(request.id, request.type, error, receivedAtMs);
  }

  private answerError(id: number, type: string, error: WireError, receivedAtMs: number): void {
    const frame: ErrorFrame = { type: "error", id, error };
    this.enqueue(this.host.encoder.encode(frame));
    this.host.options.metrics.requestCompleted(
      type,
      error.code,
      this.host.options.nowMs() - receivedAtMs,
    );
  }

  private enqueue(bytes: Buffer): void {
    if (this.outbox.length === 0) this.host.scheduleFlush(this);
    this.outbox.push(bytes);
    this.outboxBytes += bytes.length;
  }

  private onIdle(): void {
    // A client waiting on a queued acquire sends nothing for a long time: that is not idleness.
    if (this.inFlight > 0 || this.state !== "open") return;
    this.host.connectionRejected(this, "IDLE", "idle connection closed");
    this.end();
  }

  private onClose(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.clearHandshakeTimer();
    this.clearStuckTimer();
    if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
    this.throttleTimer = null;
    this.outbox = [];
    this.outboxBytes = 0;
    this.queue = [];
    this.queueHead = 0;
    if (this.backlogBytes !== 0) this.host.backlogChanged(-this.backlogBytes);
    this.backlogBytes = 0;
    this.host.connectionClosed(this);
    this.closedResolve();
    if (this.drainWaiter !== null) {
      const resolve = this.drainWaiter;
      this.drainWaiter = null;
      resolve();
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}

const REQUEST_TYPES: ReadonlySet<string> = new Set([
  "acquire",
  "semaphoreAcquire",
  "rwAcquire",
  "refresh",
  "release",
  "cancel",
  "get",
  "status",
  "forceRelease",
  "watch",
  "list",
]);

/** The request type for metrics labels; unknown types collapse into one label. */
function requestTypeOf(body: unknown): string {
  const type = (body as { type?: unknown }).type;
  return typeof type === "string" && REQUEST_TYPES.has(type) ? type : "unknown";
}

/**
 * Server-side limits beyond the protocol's shape checks: lease and wait ranges, as in force in
 * the lock table (replicated, so the same on every member), read at each request.
 */
function checkServerLimits(request: ClientRequest, options: ResolvedClientServerOptions): void {
  const acquire =
    request.type === "acquire" ||
    request.type === "semaphoreAcquire" ||
    request.type === "rwAcquire";
  if (!acquire && request.type !== "refresh") return;
  const { ttlMsMin, ttlMsMax, waitMsMax } = options.durationLimits.limits;
  if (request.ttlMs < ttlMsMin || request.ttlMs > ttlMsMax) {
    throw new InvalidArgumentError(
      "ttlMs",
      `must be between ${ttlMsMin} and ${ttlMsMax} ms, got ${request.ttlMs}`,
    );
  }
  if (acquire && request.waitMs !== undefined && request.waitMs > waitMsMax) {
    throw new InvalidArgumentError(
      "waitMs",
      `must be at most ${waitMsMax} ms, got ${request.waitMs}`,
    );
  }
}

/** The remote address a connection counts against ("::ffff:1.2.3.4" is 1.2.3.4). */
export function sourceOf(socket: Socket): string {
  const address = socket.remoteAddress ?? "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
