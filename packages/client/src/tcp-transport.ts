// The default transport: one TCP socket per connection, length-prefixed msgpack frames, the
// requests of one event-loop turn written in one syscall at the turn's check phase (setImmediate).
// Flushing at the next tick instead wrote once per macrotask: a caller that sends from timers or
// immediates (each its own macrotask) paid one write per request (with 32 loops on one Locker,
// about half of the client's CPU).
import net from "node:net";
import tls from "node:tls";
import type { ClientRequest, DlockError, HelloFrame } from "@dlock/protocol";
import {
  ConnectionClosedError,
  DlockError as DlockErrorClass,
  FRAME_BYTES_MAX,
  FrameDecoder,
  FrameEncoder,
  MalformedFrameError,
  errorFromWire,
  parseClientResponse,
  parseHello,
  parseHostPort,
} from "@dlock/protocol";
import { tlsConnectOptions, tlsFailureHint } from "./tls-options.js";
import type { ClientTlsOptions } from "./tls-options.js";
import type { Transport, TransportConnection, TransportConnectionEvents } from "./transport.js";

export interface TcpTransportOptions {
  /** Largest frame accepted from the server. */
  frameBytesMax?: number;
  /** TLS to the cluster (verified against its CA). Default: plain TCP. */
  tls?: ClientTlsOptions | null;
}

export class TcpTransport implements Transport {
  private readonly encoder: FrameEncoder;
  private readonly frameBytesMax: number;
  private readonly tls: tls.ConnectionOptions | null;

  constructor(options: TcpTransportOptions = {}) {
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX;
    this.tls =
      options.tls === undefined || options.tls === null ? null : tlsConnectOptions(options.tls);
    this.encoder = new FrameEncoder(this.frameBytesMax);
  }

  connect(
    endpoint: string,
    hello: HelloFrame,
    events: TransportConnectionEvents,
  ): TransportConnection {
    return new TcpConnection(endpoint, hello, events, this.encoder, this.frameBytesMax, this.tls);
  }
}

class TcpConnection implements TransportConnection {
  private readonly socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private opened = false;
  private closedByUs = false;
  private failure: DlockError | null = null;
  /** Frames sent this turn, written together at the check phase. */
  private queued: Buffer[] = [];
  private readonly flushBound = () => this.flush();

  constructor(
    private readonly endpoint: string,
    hello: HelloFrame,
    private readonly events: TransportConnectionEvents,
    private readonly encoder: FrameEncoder,
    frameBytesMax: number,
    tlsOptions: tls.ConnectionOptions | null,
  ) {
    this.decoder = new FrameDecoder({ frameBytesMax });
    const { host, port } = parseHostPort(endpoint, "endpoints");
    if (tlsOptions === null) {
      this.socket = net.connect({ host, port, noDelay: true });
      this.socket.on("connect", () => this.socket.write(this.encoder.encode(hello)));
    } else {
      this.socket = tls.connect({ ...tlsOptions, host, port });
      this.socket.setNoDelay(true);
      this.socket.on("secureConnect", () => this.socket.write(this.encoder.encode(hello)));
    }
    const secure = tlsOptions !== null;
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error) => {
      this.failure ??= new ConnectionClosedError(
        `${this.endpoint}: ${error.message}${tlsFailureHint(error, secure, this.opened)}`,
        { cause: error },
      );
    });
    this.socket.on("close", () => {
      const error = this.closedByUs
        ? null
        : (this.failure ??
          new ConnectionClosedError(
            `${this.endpoint} closed the connection${tlsFailureHint(null, secure, this.opened)}`,
          ));
      this.events.onClose(error);
    });
  }

  send(request: ClientRequest): void {
    if (this.socket.destroyed) return;
    if (this.queued.length === 0) setImmediate(this.flushBound);
    this.queued.push(this.encoder.encode(request));
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.closedByUs = true;
    this.socket.destroy();
  }

  private flush(): void {
    const frames = this.queued;
    this.queued = [];
    if (this.socket.destroyed || frames.length === 0) return;
    // One buffer: the frames are small, and one copy is cheaper than the stream's per-chunk
    // bookkeeping and a writev of many pieces.
    this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (body) => this.onFrame(body));
    } catch (error) {
      this.fail(
        error instanceof DlockErrorClass
          ? error
          : new MalformedFrameError("unreadable frame from server", { cause: error }),
      );
    }
  }

  private onFrame(body: unknown): void {
    if (this.socket.destroyed) return;
    if (!this.opened) {
      // The server answers a hello it refuses with an error frame, then closes.
      const frame = body as { type?: unknown; error?: unknown };
      if (typeof frame === "object" && frame !== null && frame.type === "error") {
        this.fail(errorFromWire(frame.error));
        return;
      }
      const serverHello = parseHello(body);
      this.opened = true;
      this.events.onOpen(serverHello);
      return;
    }
    this.events.onResponse(parseClientResponse(body));
  }

  private fail(error: DlockError): void {
    this.failure ??= error;
    this.socket.destroy();
  }
}
