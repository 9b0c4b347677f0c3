// A TCP proxy in front of a node's peer port that can cut every connection once a number of
// bytes went through it towards the node after a marker (the start of a snapshot transfer), then
// lets new connections through.
import { createServer, connect } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";

export class CuttingProxy {
  /** Bytes forwarded towards the target since start. */
  forwardedBytes = 0;
  /** Connections cut so far. */
  cuts = 0;
  /** Bytes forwarded towards the target from the first occurrence of the marker on. */
  bytesSinceMarker = 0;
  private target: { host: string; port: number } | null = null;
  private marker: Buffer | null = null;
  private markerSeen = false;
  private cutAtBytes: number | null = null;
  /** The end of the stream so far, to find a marker split across reads. */
  private tail: Buffer = Buffer.alloc(0);
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<CuttingProxy> {
    const server = createServer();
    const proxy = new CuttingProxy(server);
    server.on("connection", (socket) => proxy.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get address(): string {
    const { port } = this.server.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** Where accepted connections go; until set they are closed (the peer retries). */
  setTarget(address: string): void {
    const [host, port] = address.split(":");
    this.target = { host, port: Number(port) };
  }

  /**
   * Once `marker` goes through towards the target, cuts every open connection after `bytes`
   * more bytes (once). Peer frames are msgpack, so a message type such as "snapshot" appears in
   * the stream as its UTF-8 bytes.
   */
  cutAfterMarker(marker: string, bytes: number): void {
    this.marker = Buffer.from(marker, "utf8");
    this.markerSeen = false;
    this.bytesSinceMarker = 0;
    this.cutAtBytes = bytes;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.target === null) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.on("data", (chunk: Buffer) => {
      this.forwardedBytes += chunk.length;
      if (this.markerSeen) this.bytesSinceMarker += chunk.length;
      else if (this.marker !== null) {
        const window = Buffer.concat([this.tail, chunk]);
        const at = window.indexOf(this.marker);
        if (at >= 0) {
          this.markerSeen = true;
          this.bytesSinceMarker = window.length - at;
        } else this.tail = window.subarray(Math.max(0, window.length - this.marker.length));
      }
      if (this.cutAtBytes !== null && this.markerSeen && this.bytesSinceMarker >= this.cutAtBytes) {
        this.cutAtBytes = null;
        this.cuts++;
        for (const [a, b] of [...this.pairs]) {
          a.destroy();
          b.destroy();
        }
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.pipe(client);
  }
}
