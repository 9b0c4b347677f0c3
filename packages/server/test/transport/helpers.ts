// Shared helpers for the network tests: condition polling with a generous deadline (never a
// timing assertion), a raw socket speaking frames, and recorders for logs and metrics.
import { connect } from "node:net";
import type { Socket } from "node:net";
import { FrameDecoder, FrameEncoder } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import type { PeerTransportMetrics } from "../../src/transport/transport-metrics.js";

export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface LogRecord {
  level: "debug" | "info" | "warn" | "error";
  fields: Record<string, unknown>;
  message: string;
}

export class RecordingLogger implements Logger {
  readonly records: LogRecord[] = [];
  debug(fields: object, message: string): void {
    this.records.push({ level: "debug", fields: fields as Record<string, unknown>, message });
  }
  info(fields: object, message: string): void {
    this.records.push({ level: "info", fields: fields as Record<string, unknown>, message });
  }
  warn(fields: object, message: string): void {
    this.records.push({ level: "warn", fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message: string): void {
    this.records.push({ level: "error", fields: fields as Record<string, unknown>, message });
  }
}

export class RecordingTransportMetrics implements PeerTransportMetrics {
  dropped = new Map<string, number>();
  frames: { peer: string; messageCount: number; bytes: number }[] = [];
  connections: { peer: string; connected: boolean }[] = [];
  rejected: string[] = [];
  overflows: string[] = [];
  messagesDropped(peer: string, count: number): void {
    this.dropped.set(peer, (this.dropped.get(peer) ?? 0) + count);
  }
  sendQueueOverflow(peer: string): void {
    this.overflows.push(peer);
  }
  frameSent(peer: string, messageCount: number, bytes: number): void {
    this.frames.push({ peer, messageCount, bytes });
  }
  peerConnection(peer: string, connected: boolean): void {
    this.connections.push({ peer, connected });
  }
  inboundRejected(reason: string): void {
    this.rejected.push(reason);
  }
}

/** A socket that speaks raw frames, for feeding servers good and bad input. */
export class RawFrameSocket {
  readonly frames: unknown[] = [];
  closed = false;
  private readonly encoder = new FrameEncoder();
  private readonly decoder = new FrameDecoder();
  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, (frame) => this.frames.push(frame));
      } catch {
        this.frames.push({ type: "<undecodable>" });
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
    });
  }

  static async open(port: number, host = "127.0.0.1"): Promise<RawFrameSocket> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    return new RawFrameSocket(socket);
  }

  /** Wraps a socket that is already connected (e.g. a TLS socket after secureConnect). */
  static wrap(socket: Socket): RawFrameSocket {
    return new RawFrameSocket(socket);
  }

  sendFrame(value: unknown): void {
    this.socket.write(this.encoder.encode(value));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  private cursor = 0;

  /** The next frame not yet returned by this method, in arrival order. */
  async nextFrame(what = "a frame"): Promise<unknown> {
    const index = this.cursor;
    await waitFor(() => this.frames.length > index || this.closed, what);
    if (this.frames.length <= index) throw new Error(`connection closed before ${what}`);
    this.cursor++;
    return this.frames[index];
  }

  async waitClosed(): Promise<void> {
    await waitFor(() => this.closed, "the server to close the connection");
  }

  destroy(): void {
    this.socket.destroy();
  }
}
