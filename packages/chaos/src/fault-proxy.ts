// A TCP proxy in front of one link (a peer link from one node to another, or the clients' path
// to one node) that injects faults: cut both ways, cut one way (bytes silently discarded, as a
// black-holed route), delay with jitter (order kept, as TCP keeps it), and reset (every open
// connection dies at once; new ones are accepted). Bytes are never altered or reordered within a
// direction: garbage on a port is tested elsewhere; here the network misbehaves, not the peer.
import { Socket, createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";

export type LinkFault =
  | { kind: "none" }
  /** No connection is accepted and open ones are closed. */
  | { kind: "cut" }
  /** Bytes in one direction are discarded (the connection stays open). */
  | { kind: "oneWay"; direction: "forward" | "backward" }
  /** Every chunk waits meanMs ± jitterMs before it is written (per direction, in order). */
  | { kind: "delay"; meanMs: number; jitterMs: number };

export interface FaultProxyOptions {
  /** Where the proxy listens (port 0: a free port). */
  listenPort?: number;
  /** The real address behind the proxy. */
  target: { host: string; port: number };
  /** Jitter source, [0, 1): seeded by the nemesis so a run can be replayed. */
  random: () => number;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** When the last delayed chunk of each direction is due (to keep order under jitter). */
  forwardDueMs: number;
  backwardDueMs: number;
}

const HOST = "127.0.0.1";

export class FaultProxy {
  private readonly options: FaultProxyOptions;
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private fault: LinkFault = { kind: "none" };
  /** Bytes discarded by one-way cuts, for the run summary. */
  droppedBytes = 0;
  connections = 0;

  constructor(options: FaultProxyOptions) {
    this.options = options;
    this.server = createServer((socket) => this.accept(socket));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.listenPort ?? 0, HOST, () => resolve());
    });
  }

  get address(): string {
    return `${HOST}:${(this.server.address() as AddressInfo).port}`;
  }

  get current(): LinkFault {
    return this.fault;
  }

  setFault(fault: LinkFault): void {
    this.fault = fault;
    if (fault.kind === "cut") this.reset();
  }

  /** Destroys every open connection (both ends see a reset); new ones are accepted. */
  reset(): void {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.fault.kind === "cut") {
      client.destroy();
      return;
    }
    this.connections++;
    client.setNoDelay(true);
    const upstream = new Socket();
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream, forwardDueMs: 0, backwardDueMs: 0 };
    this.pairs.add(pair);
    const close = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
    client.pause();
    upstream.connect(this.options.target.port, this.options.target.host, () => client.resume());
    client.on("data", (chunk: Buffer) => this.relay(pair, "forward", chunk));
    upstream.on("data", (chunk: Buffer) => this.relay(pair, "backward", chunk));
  }

  private relay(pair: Pair, direction: "forward" | "backward", chunk: Buffer): void {
    const to = direction === "forward" ? pair.upstream : pair.client;
    const fault = this.fault;
    if (fault.kind === "oneWay" && fault.direction === direction) {
      this.droppedBytes += chunk.length;
      return;
    }
    if (fault.kind !== "delay") {
      to.write(chunk);
      return;
    }
    const now = performance.now();
    const delay = Math.max(0, fault.meanMs + (this.options.random() * 2 - 1) * fault.jitterMs);
    const previous = direction === "forward" ? pair.forwardDueMs : pair.backwardDueMs;
    const due = Math.max(now + delay, previous);
    if (direction === "forward") pair.forwardDueMs = due;
    else pair.backwardDueMs = due;
    setTimeout(() => {
      if (this.pairs.has(pair)) to.write(chunk);
    }, due - now);
  }
}
