// A TCP proxy in front of one node's client port that can cut a connection right after the node
// answered a given request type, before the answer reaches the client: the request was applied,
// the client never hears so and retries. Frames are decoded with @dlock/protocol to see types.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { FrameDecoder, FrameEncoder } from "@dlock/protocol";

export class ReplyDroppingProxy {
  /** Answers swallowed so far (each with its connection cut). */
  dropped = 0;
  /** Requests seen from clients, by type. */
  readonly requests = new Map<string, number>();
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private dropNext = new Map<string, number>();

  private constructor(private readonly target: string) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(target: string): Promise<ReplyDroppingProxy> {
    const proxy = new ReplyDroppingProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Swallows the next `count` answers to requests of `type`, cutting their connection. */
  dropNextReply(type: string, count = 1): void {
    this.dropNext.set(type, (this.dropNext.get(type) ?? 0) + count);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const [host, port] = this.target.split(":");
    const upstream = net.connect({ host, port: Number(port) });
    this.sockets.add(client).add(upstream);
    const typeById = new Map<number, string>();
    const fromClient = new FrameDecoder();
    const fromServer = new FrameDecoder();
    const encoder = new FrameEncoder();
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      try {
        fromClient.push(chunk, (body) => {
          const { id, type } = body as { id?: unknown; type?: unknown };
          if (typeof id === "number" && typeof type === "string") {
            typeById.set(id, type);
            this.requests.set(type, (this.requests.get(type) ?? 0) + 1);
          }
        });
      } catch {
        // Not our concern: the node judges what the client sends.
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      fromServer.push(chunk, (body) => {
        if (client.destroyed) return;
        const { id } = body as { id?: unknown };
        const type = typeof id === "number" ? typeById.get(id) : undefined;
        const budget = type === undefined ? 0 : (this.dropNext.get(type) ?? 0);
        if (type !== undefined && budget > 0) {
          this.dropNext.set(type, budget - 1);
          this.dropped++;
          cut();
          return;
        }
        client.write(encoder.encode(body));
      });
    });
    for (const socket of [client, upstream]) {
      socket.on("error", cut);
      socket.on("close", () => {
        this.sockets.delete(socket);
        cut();
      });
    }
  }
}
