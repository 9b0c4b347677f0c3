import type {
  Transport,
  TransportConnection,
  TransportConnectionEvents,
} from "@dlock/client/internal";
import type { ClientRequest, ClientResponse, HelloFrame } from "@dlock/protocol";
import { ConnectionClosedError } from "@dlock/protocol";
import type { Prng } from "../prng.js";
import type { AsyncWorld } from "./async-world.js";
import type { SimProcess } from "./sim-process.js";
import { LinkCuts } from "../link-cuts.js";
import { FaultyNetwork, faultValidator } from "../fault-settings.js";
import type { FaultKeys } from "../fault-settings.js";

/** How client links behave while no partition cuts them. */
export interface ClientNetworkFaults {
  /** One-way delay of a segment, uniform in [delayMsMin, delayMsMax]. */
  delayMsMin: number;
  delayMsMax: number;
  /** Probability that a message resets its connection: it is lost and both ends see a close. */
  resetRate: number;
  /**
   * Probability that a message is held back up to stallDelayMaxMs (a retransmission); the
   * messages behind it on the connection wait too (TCP delivers in order).
   */
  stallRate: number;
  stallDelayMaxMs: number;
}

const CLIENT_NETWORK_FAULT_KEYS: FaultKeys<ClientNetworkFaults> = {
  delays: "client link delays",
  rates: ["resetRate", "stallRate"],
  delayBounds: ["stallDelayMaxMs"],
};

export const validateClientNetworkFaults = faultValidator(CLIENT_NETWORK_FAULT_KEYS);

/** The server's side of one accepted connection. */
export interface ServerSideConnection {
  /** Unique in the network for the whole run. */
  readonly id: number;
  /** The client process at the other end. */
  readonly clientName: string;
  send(frame: ClientResponse | HelloFrame): void;
  /** Ends the connection after what was sent (a FIN). */
  close(): void;
}

/** What a server does with the frames of one connection. */
export interface ServerConnectionHandler {
  onHello(hello: HelloFrame): void;
  onRequest(body: unknown): void;
  /** The client closed or the connection was reset; nothing is called after it. */
  onClose(): void;
}

/** A listening server process. */
export interface ServerEndpoint {
  readonly process: SimProcess;
  accept(connection: ServerSideConnection): ServerConnectionHandler;
}

/** Sees every request a client puts on the wire and every answer that reaches it (the history). */
export interface ClientWireObserver {
  requestSent(clientName: string, connectionId: number, request: ClientRequest): void;
  responseReceived(clientName: string, connectionId: number, response: ClientResponse): void;
}

export interface ClientNetworkStats {
  connections: number;
  refused: number;
  resets: number;
  stalls: number;
  messages: number;
  /** Messages that waited for a partition to heal or for a paused process. */
  heldBack: number;
}

type Segment =
  | { kind: "hello"; hello: HelloFrame }
  | { kind: "request"; request: ClientRequest }
  | { kind: "response"; frame: ClientResponse | HelloFrame }
  | { kind: "fin" };

/** One direction of a connection: in-order delivery, each segment no earlier than its time. */
class Stream {
  readonly queue: { segment: Segment; atMs: number }[] = [];
  lastAtMs = 0;
  pumping = false;
  stalled = false;
  /** No more segments are delivered (reset, or the receiver is gone). */
  dead = false;

  constructor(
    readonly from: SimProcess,
    readonly to: SimProcess,
    readonly deliver: (segment: Segment) => void,
  ) {}
}

let nextConnectionId = 1;

class SimConnection {
  readonly id = nextConnectionId++;
  readonly up: Stream;
  readonly down: Stream;
  readonly clientIncarnation: number;
  /** The client stopped listening (closed or heard a close). */
  clientClosed = false;
  /** The server side exists (hello delivered) and has not closed. */
  handler: ServerConnectionHandler | null = null;
  serverIncarnation = -1;
  serverClosed = false;
  finished = false;

  readonly server: SimProcess | null;

  constructor(
    readonly network: SimClientNetwork,
    readonly client: SimProcess,
    readonly endpoint: ServerEndpoint | undefined,
    readonly events: TransportConnectionEvents,
  ) {
    this.clientIncarnation = client.incarnation;
    this.server = endpoint?.process ?? null;
    const serverProcess = this.server ?? client;
    this.up = new Stream(client, serverProcess, (segment) => network.deliverUp(this, segment));
    this.down = new Stream(serverProcess, client, (segment) => network.deliverDown(this, segment));
  }
}

/**
 * The simulated network between clients and the servers' client ports, with TCP's shape: a
 * connection delivers in order or not at all; a lost segment resets it (both ends see a close and
 * whatever was in flight is lost, so the sender cannot know whether a request arrived); a
 * partition stalls it, and what was sent arrives after the partition heals, even if the sender
 * gave up and closed meanwhile (a delayed request, as in etcd #22082). Connecting to a crashed
 * process is refused; a crashed server resets its connections; a paused process leaves its
 * segments waiting.
 */
export class SimClientNetwork extends FaultyNetwork<ClientNetworkFaults> {
  readonly stats: ClientNetworkStats = {
    connections: 0,
    refused: 0,
    resets: 0,
    stalls: 0,
    messages: 0,
    heldBack: 0,
  };
  observer: ClientWireObserver | null = null;
  private readonly servers = new Map<string, ServerEndpoint>();
  private readonly cuts = new LinkCuts();
  private readonly stalled = new Set<Stream>();
  private readonly open = new Set<SimConnection>();

  constructor(
    private readonly world: AsyncWorld,
    private readonly random: Prng,
    faults: ClientNetworkFaults,
  ) {
    super(faults, CLIENT_NETWORK_FAULT_KEYS);
  }

  /** A server listens on `address` ("host:port"). */
  listen(address: string, endpoint: ServerEndpoint): void {
    this.servers.set(address, endpoint);
  }

  /** The transport a client process connects through. */
  transportFor(client: SimProcess): Transport {
    return {
      connect: (endpoint: string, hello: HelloFrame, events: TransportConnectionEvents) =>
        this.connect(client, endpoint, hello, events),
    };
  }

  /** Cut the directed link between processes `from` and `to` (counted, like SimNetwork). */
  cut(from: string, to: string): void {
    this.cuts.cut(from, to);
  }

  mend(from: string, to: string): void {
    this.cuts.mend(from, to);
    this.wakeStalled();
  }

  mendAll(): void {
    this.cuts.mendAll();
    this.wakeStalled();
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.isCut(from, to);
  }

  /** The server process `name` crashed or stopped: its connections are reset. */
  serverDown(name: string): void {
    for (const connection of [...this.open]) {
      if (connection.server?.name === name) this.reset(connection, "the server went away");
    }
  }

  /** The client process `name` crashed: the kernel ends its connections after what was sent. */
  clientDown(name: string): void {
    for (const connection of [...this.open]) {
      if (connection.client.name !== name) continue;
      connection.clientClosed = true;
      connection.down.dead = true;
      this.sendUp(connection, { kind: "fin" });
    }
  }

  private connect(
    client: SimProcess,
    address: string,
    hello: HelloFrame,
    events: TransportConnectionEvents,
  ): TransportConnection {
    const endpoint = this.servers.get(address);
    const connection = new SimConnection(this, client, endpoint, events);
    this.stats.connections++;
    this.open.add(connection);
    // The hello goes out with the SYN; the server side exists once it is delivered.
    this.sendUp(connection, { kind: "hello", hello });
    return {
      send: (request: ClientRequest) => {
        if (connection.clientClosed) return;
        this.observer?.requestSent(client.name, connection.id, request);
        this.sendUp(connection, { kind: "request", request });
      },
      close: () => {
        if (connection.clientClosed) return;
        connection.clientClosed = true;
        this.sendUp(connection, { kind: "fin" });
      },
    };
  }

  private serverSide(connection: SimConnection): ServerSideConnection {
    return {
      id: connection.id,
      clientName: connection.client.name,
      send: (frame) => {
        if (connection.serverClosed || connection.finished) return;
        this.enqueue(connection, connection.down, { kind: "response", frame });
      },
      close: () => {
        if (connection.serverClosed || connection.finished) return;
        connection.serverClosed = true;
        connection.handler = null;
        this.enqueue(connection, connection.down, { kind: "fin" });
      },
    };
  }

  private sendUp(connection: SimConnection, segment: Segment): void {
    if (connection.finished) return;
    this.enqueue(connection, connection.up, segment);
  }

  private enqueue(connection: SimConnection, stream: Stream, segment: Segment): void {
    if (stream.dead) return;
    this.stats.messages++;
    if (segment.kind !== "fin" && this.random.chance(this.faults.resetRate)) {
      // The segment is lost and the connection with it (the peer resets or times out).
      this.reset(connection, "connection reset");
      return;
    }
    const faults = this.faults;
    let delayMs = this.random.between(faults.delayMsMin, faults.delayMsMax);
    if (this.random.chance(faults.stallRate)) {
      this.stats.stalls++;
      delayMs += this.random.between(0, faults.stallDelayMaxMs);
    }
    const atMs = Math.max(this.world.nowMs + delayMs, stream.lastAtMs);
    stream.lastAtMs = atMs;
    stream.queue.push({ segment, atMs });
    this.schedulePump(stream, atMs);
  }

  private schedulePump(stream: Stream, atMs: number): void {
    if (stream.pumping || stream.stalled) return;
    stream.pumping = true;
    this.world.world.at(atMs, () => {
      stream.pumping = false;
      this.pump(stream);
    });
  }

  private pump(stream: Stream): void {
    while (!stream.dead) {
      const head = stream.queue[0];
      if (head === undefined) break;
      if (head.atMs > this.world.nowMs) {
        this.schedulePump(stream, head.atMs);
        return;
      }
      if (this.isCut(stream.from.name, stream.to.name)) {
        // Retransmissions fail until the partition heals; then everything arrives in order.
        this.stats.heldBack++;
        stream.stalled = true;
        this.stalled.add(stream);
        return;
      }
      if (stream.to.status === "paused") {
        this.stats.heldBack++;
        stream.pumping = true;
        stream.to.defer(() => {
          stream.pumping = false;
          this.pump(stream);
        });
        return;
      }
      stream.queue.shift();
      stream.deliver(head.segment);
    }
  }

  private wakeStalled(): void {
    for (const stream of [...this.stalled]) {
      if (this.isCut(stream.from.name, stream.to.name)) continue;
      this.stalled.delete(stream);
      stream.stalled = false;
      this.schedulePump(stream, this.world.nowMs);
    }
  }

  /** A segment reached the server host. */
  deliverUp(connection: SimConnection, segment: Segment): void {
    const server = connection.server;
    const alive =
      server !== null &&
      server.status !== "down" &&
      (connection.handler === null || connection.serverIncarnation === server.incarnation);
    if (!alive || connection.serverClosed) {
      if (segment.kind !== "fin") {
        // Nobody listens (or a new incarnation does not know this connection): refused / reset.
        if (connection.handler === null && segment.kind === "hello") this.stats.refused++;
        this.reset(connection, server === null ? "unknown address" : "connection refused");
      } else {
        this.finish(connection);
      }
      return;
    }
    switch (segment.kind) {
      case "hello": {
        connection.serverIncarnation = server.incarnation;
        connection.handler = connection.endpoint!.accept(this.serverSide(connection));
        this.world.touch();
        connection.handler.onHello(segment.hello);
        return;
      }
      case "request":
        this.world.touch();
        connection.handler?.onRequest(segment.request);
        return;
      case "fin": {
        const handler = connection.handler;
        connection.handler = null;
        connection.serverClosed = true;
        this.world.touch();
        handler?.onClose();
        this.finish(connection);
        return;
      }
      case "response":
        throw new RangeError("a response travelled towards the server");
    }
  }

  /** A segment reached the client host. */
  deliverDown(connection: SimConnection, segment: Segment): void {
    const client = connection.client;
    if (
      connection.clientClosed ||
      client.status === "down" ||
      client.incarnation !== connection.clientIncarnation
    ) {
      return;
    }
    this.world.touch();
    switch (segment.kind) {
      case "response": {
        const frame = segment.frame;
        if (frame.type === "hello") {
          connection.events.onOpen(frame);
          return;
        }
        this.observer?.responseReceived(client.name, connection.id, frame);
        connection.events.onResponse(frame);
        return;
      }
      case "fin":
        connection.clientClosed = true;
        connection.events.onClose(new ConnectionClosedError("closed by the server"));
        return;
      default:
        throw new RangeError("a request travelled towards the client");
    }
  }

  /**
   * The connection breaks: in-flight segments are lost; each end that still listens hears a
   * close one delay later, unless a partition swallows the reset.
   */
  private reset(connection: SimConnection, reason: string): void {
    if (connection.finished) return;
    this.stats.resets++;
    connection.finished = true;
    this.open.delete(connection);
    for (const stream of [connection.up, connection.down]) {
      stream.dead = true;
      stream.queue.length = 0;
      this.stalled.delete(stream);
    }
    const delayMs = this.random.between(this.faults.delayMsMin, this.faults.delayMsMax);
    const handler = connection.handler;
    connection.handler = null;
    const server = connection.server;
    const serverName = server?.name ?? "";
    if (handler !== null && server !== null && !connection.serverClosed) {
      const serverIncarnation = connection.serverIncarnation;
      const notify = (): void => {
        if (server.incarnation !== serverIncarnation || server.status === "down") return;
        this.world.touch();
        handler.onClose();
      };
      this.world.world.after(delayMs, () => {
        if (server.status === "paused") server.defer(notify);
        else notify();
      });
    }
    if (!connection.clientClosed) {
      this.world.world.after(delayMs, () => {
        const client = connection.client;
        if (connection.clientClosed || client.incarnation !== connection.clientIncarnation) return;
        if (serverName !== "" && this.isCut(serverName, client.name)) return; // the RST is lost
        const notify = (): void => {
          if (connection.clientClosed || client.incarnation !== connection.clientIncarnation) {
            return;
          }
          if (client.status === "down") return;
          connection.clientClosed = true;
          this.world.touch();
          connection.events.onClose(new ConnectionClosedError(`${reason}`));
        };
        if (client.status === "paused") client.defer(notify);
        else notify();
      });
    }
  }

  private finish(connection: SimConnection): void {
    connection.finished = true;
    this.open.delete(connection);
  }
}
