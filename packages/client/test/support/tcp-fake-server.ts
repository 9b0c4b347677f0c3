// A fake dlock node on a real loopback socket: it speaks the wire protocol (hello, pipelined
// requests, responses in any order) in front of a FakeCluster, so the TCP transport is tested
// end to end without the real server.
import net from "node:net";
import type { ClientResponse } from "@dlock/protocol";
import {
  FrameDecoder,
  FrameEncoder,
  PROTOCOL_VERSION,
  checkHello,
  errorToWire,
  parseClientRequest,
  parseHello,
  peekRequestId,
} from "@dlock/protocol";
import type { FakeCluster } from "./fake-cluster.js";

export interface FakeServerOptions {
  nodeId: string;
  clusterId: string;
  cluster: FakeCluster;
  /** Hold answers and send each batch in reverse order (tests out-of-order responses). */
  reverseBatches?: boolean;
  /** Answer the hello with these bytes instead of a hello. */
  garbageAfterHello?: Buffer;
  /**
   * Refuse the client's credentials: the hello and then this connection-level error in one write,
   * then close (what a real node's TLS socket often delivers in one read).
   */
  refuseAfterHello?: Error;
}

export class FakeTcpServer {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  connections = 0;
  private readonly encoder = new FrameEncoder();

  constructor(private readonly options: FakeServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as net.AddressInfo;
    return `127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true); // Without it, Nagle + delayed ACK add ~40 ms to pipelined answers.
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {});
    const decoder = new FrameDecoder();
    let greeted = false;
    let batch: ClientResponse[] = [];
    const send = (response: ClientResponse) => {
      if (!this.options.reverseBatches) {
        socket.write(this.encoder.encode(response));
        return;
      }
      batch.push(response);
      if (batch.length === 1) {
        setImmediate(() => {
          const out = batch.reverse();
          batch = [];
          for (const r of out) socket.write(this.encoder.encode(r));
        });
      }
    };
    socket.on("data", (chunk: Buffer) => {
      try {
        decoder.push(chunk, (body) => {
          if (!greeted) {
            const hello = parseHello(body);
            const mismatch = checkHello(hello, {
              role: "client",
              clusterId: this.options.clusterId,
              allowAnyClusterId: true,
            });
            if (mismatch) {
              socket.end(
                this.encoder.encode({ type: "error", id: null, error: mismatch.toWire() }),
              );
              return;
            }
            greeted = true;
            const serverHello = this.encoder.encode({
              type: "hello",
              protocolVersion: PROTOCOL_VERSION,
              clusterId: this.options.clusterId,
              role: "client",
              nodeId: this.options.nodeId,
            });
            if (this.options.refuseAfterHello) {
              const refusal = errorToWire(this.options.refuseAfterHello);
              const frame = this.encoder.encode({ type: "error", id: null, error: refusal });
              socket.end(Buffer.concat([serverHello, frame]));
              return;
            }
            socket.write(serverHello);
            if (this.options.garbageAfterHello) socket.write(this.options.garbageAfterHello);
            return;
          }
          let request;
          try {
            request = parseClientRequest(body);
          } catch (error) {
            const id = peekRequestId(body);
            send({ type: "error", id, error: errorToWire(error) });
            if (id === null) socket.end();
            return;
          }
          this.options.cluster.handle(this.options.nodeId, request, send);
        });
      } catch (error) {
        socket.end(this.encoder.encode({ type: "error", id: null, error: errorToWire(error) }));
      }
    });
  }
}
