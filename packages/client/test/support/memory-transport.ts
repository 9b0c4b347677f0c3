// An in-memory transport to a FakeCluster: no bytes, no sockets, delivery on promise jobs (and,
// with a delay, on the fake clock), so tests run on virtual time.
import type { ClientRequest, ClientResponse, HelloFrame } from "@dlock/protocol";
import {
  errorFromWire,
  ConnectionClosedError,
  PROTOCOL_VERSION,
  errorToWire,
  parseClientRequest,
} from "@dlock/protocol";
import type {
  Clock,
  Transport,
  TransportConnection,
  TransportConnectionEvents,
} from "../../src/internal.js";
import type { FakeCluster } from "./fake-cluster.js";

export class MemoryTransport implements Transport {
  /** Every connection attempt, by endpoint, in order. */
  readonly dials: string[] = [];
  readonly open = new Set<MemoryConnection>();
  /** One-way delivery delay in virtual ms (0: next promise job). */
  delayMs = 0;
  /** When set, the delay of each delivery (overrides delayMs). */
  delayFn: (() => number) | null = null;
  clusterId = "test-cluster";

  constructor(
    readonly cluster: FakeCluster,
    readonly clock: Clock,
  ) {}

  connect(
    endpoint: string,
    hello: HelloFrame,
    events: TransportConnectionEvents,
  ): TransportConnection {
    this.dials.push(endpoint);
    const connection = new MemoryConnection(this, endpoint, events);
    queueMicrotask(() => connection.start(hello));
    return connection;
  }

  /** Closes every open connection to the node at `address`, as a crash would. */
  dropConnections(address: string): void {
    for (const connection of [...this.open]) {
      if (connection.endpoint === address) connection.fail("connection reset");
    }
  }

  deliver(callback: () => void): void {
    const delayMs = this.delayFn ? this.delayFn() : this.delayMs;
    if (delayMs > 0) this.clock.setTimeout(callback, delayMs);
    else queueMicrotask(callback);
  }
}

class MemoryConnection implements TransportConnection {
  private closed = false;
  private nodeId: string | null = null;

  constructor(
    private readonly transport: MemoryTransport,
    readonly endpoint: string,
    private readonly events: TransportConnectionEvents,
  ) {}

  start(_hello: HelloFrame): void {
    if (this.closed) return;
    const node = this.transport.cluster.nodeByAddress(this.endpoint);
    if (!node || node.down) {
      this.fail("connection refused");
      return;
    }
    if (node.refuseNext) {
      const refusal = errorFromWire(node.refuseNext);
      node.refuseNext = null;
      this.closed = true;
      queueMicrotask(() => this.events.onClose(refusal));
      return;
    }
    this.nodeId = node.id;
    this.transport.open.add(this);
    this.transport.deliver(() => {
      if (this.closed) return;
      this.events.onOpen({
        type: "hello",
        protocolVersion: PROTOCOL_VERSION,
        clusterId: this.transport.clusterId,
        role: "client",
        nodeId: node.id,
      });
    });
  }

  send(request: ClientRequest): void {
    if (this.closed || this.nodeId === null) return;
    const nodeId = this.nodeId;
    const reply = (response: ClientResponse) =>
      this.transport.deliver(() => {
        if (!this.closed) this.events.onResponse(response);
      });
    this.transport.deliver(() => {
      if (this.closed) return;
      // Check every request as a real server would, so a malformed one fails the test.
      let checked: ClientRequest;
      try {
        checked = parseClientRequest(structuredClone(request));
      } catch (error) {
        reply({ type: "error", id: request.id, error: errorToWire(error) });
        return;
      }
      this.transport.cluster.handle(nodeId, checked, reply);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.open.delete(this);
    queueMicrotask(() => this.events.onClose(null));
  }

  fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.open.delete(this);
    queueMicrotask(() =>
      this.events.onClose(new ConnectionClosedError(`${this.endpoint}: ${reason}`)),
    );
  }
}
