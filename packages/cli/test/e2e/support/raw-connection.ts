// A raw TCP connection to a node's client or peer port, speaking the frame format by hand (the
// real @dlock/protocol encoder and decoder), so a test can send what no real client would.
import net from "node:net";
import tls from "node:tls";
import { FrameDecoder, FrameEncoder, PROTOCOL_VERSION } from "@dlock/protocol";
import type { HelloFrame, WireError } from "@dlock/protocol";

export type Received = { kind: "frame"; body: unknown } | { kind: "closed" };

export class RawConnection {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder();
  private readonly encoder = new FrameEncoder();
  private readonly inbox: Received[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, (body) => this.deliver({ kind: "frame", body }));
      } catch (error) {
        this.deliver({ kind: "frame", body: { undecodable: String(error) } });
        socket.destroy();
      }
    });
    socket.on("error", () => {
      // A reset after the server gave up on us is one way of closing.
    });
    socket.on("close", () => {
      this.closed = true;
      this.deliver({ kind: "closed" });
    });
  }

  /** `localAddress` picks the source address (e.g. 127.0.0.2: another client on loopback). */
  static open(address: string, localAddress?: string): Promise<RawConnection> {
    const [host, port] = address.split(":");
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port: Number(port), localAddress }, () => {
        socket.off("error", reject);
        resolve(new RawConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  /**
   * A TLS connection (host names not checked); rejects when the TLS handshake fails. Note that
   * with TLS 1.3 a server's refusal of our certificate may only show after the handshake.
   */
  static openTls(address: string, options: tls.ConnectionOptions): Promise<RawConnection> {
    const [host, port] = address.split(":");
    return new Promise((resolve, reject) => {
      const socket = tls.connect(
        { host, port: Number(port), checkServerIdentity: () => undefined, ...options },
        () => {
          socket.off("error", reject);
          resolve(new RawConnection(socket));
        },
      );
      socket.once("error", reject);
    });
  }

  /** Writes `message` as one length-prefixed msgpack frame. */
  sendFrame(message: unknown): void {
    this.socket.write(this.encoder.encode(message));
  }

  /** A frame header announcing `length` bytes followed by `body` as given. */
  sendRawFrame(length: number, body: Uint8Array): void {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length, 0);
    this.socket.write(Buffer.concat([header, body]));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next frame or the close, whichever comes first; fails after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new Error(`nothing received within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    const received = this.inbox.shift()!;
    // Keep reporting the close to every later call.
    if (received.kind === "closed") this.inbox.unshift(received);
    return received;
  }

  /** The next frame, which must be an `ok` or `error` answer to request `id`. */
  async answer(
    id: number,
  ): Promise<{ type: "ok"; result: unknown } | { type: "error"; error: WireError }> {
    const received = await this.next();
    if (received.kind !== "frame") throw new Error(`connection closed before the answer to ${id}`);
    const body = received.body as {
      type?: string;
      id?: unknown;
      result?: unknown;
      error?: WireError;
    };
    if (body.id !== id)
      throw new Error(`expected the answer to ${id}, got ${JSON.stringify(body)}`);
    return body.type === "ok"
      ? { type: "ok", result: body.result }
      : { type: "error", error: body.error! };
  }

  /**
   * What the server did with a connection it refuses: the connection-level error frame it sent
   * (id null), if any, and whether it then closed the connection (within `timeoutMs`).
   */
  async refusal(timeoutMs = 10_000): Promise<{ error: WireError | null; closed: boolean }> {
    let error: WireError | null = null;
    for (;;) {
      const received = await this.next(timeoutMs).catch(() => null);
      if (received === null) return { error, closed: false };
      if (received.kind === "closed") return { error, closed: true };
      const body = received.body as { type?: string; id?: unknown; error?: WireError };
      if (body.type === "error" && body.id === null && body.error !== undefined) error = body.error;
    }
  }

  /** The server's certificate (TLS connections only). */
  peerCertificate(): tls.PeerCertificate {
    if (!(this.socket instanceof tls.TLSSocket)) throw new Error("not a TLS connection");
    return this.socket.getPeerCertificate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(received: Received): void {
    this.inbox.push(received);
    this.waiter?.();
  }
}

export function clientHello(overrides: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId: null,
    role: "client",
    clientId: "raw-test-client",
    ...overrides,
  };
}

export function peerHello(
  clusterId: string,
  nodeId: string,
  overrides: Partial<HelloFrame> = {},
): HelloFrame {
  return {
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId,
    role: "peer",
    nodeId,
    ...overrides,
  };
}

/** Opens a client connection, exchanges hellos and returns it ready for requests. */
export async function openClientSession(address: string): Promise<RawConnection> {
  const connection = await RawConnection.open(address);
  connection.sendFrame(clientHello());
  const hello = await connection.next();
  if (hello.kind !== "frame" || (hello.body as { type?: string }).type !== "hello") {
    throw new Error(`expected the server's hello, got ${JSON.stringify(hello)}`);
  }
  return connection;
}
