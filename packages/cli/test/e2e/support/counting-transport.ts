// A Transport around the TCP one that records every request a Locker sends and how each was
// answered, so a test can count attempts exactly (e.g. 1 + retryLimit acquires).
import { TcpTransport } from "@dlock/client/internal";
import type {
  Transport,
  TransportConnection,
  TransportConnectionEvents,
} from "@dlock/client/internal";

export interface RecordedRequest {
  type: string;
  endpoint: string;
  /** performance.now() when the request was handed to the socket. */
  sentAtMs: number;
  /** "ok", an error code, or null while unanswered. */
  outcome: string | null;
}

export class CountingTransport implements Transport {
  readonly requests: RecordedRequest[] = [];
  private readonly inner = new TcpTransport();

  connect(
    endpoint: string,
    hello: Parameters<Transport["connect"]>[1],
    events: TransportConnectionEvents,
  ): TransportConnection {
    const byId = new Map<number, RecordedRequest>();
    const connection = this.inner.connect(endpoint, hello, {
      onOpen: (serverHello) => events.onOpen(serverHello),
      onResponse: (response) => {
        if (response.id !== null) {
          const recorded = byId.get(response.id);
          if (recorded !== undefined) {
            recorded.outcome = response.type === "ok" ? "ok" : response.error.code;
            byId.delete(response.id);
          }
        }
        events.onResponse(response);
      },
      onClose: (error) => events.onClose(error),
    });
    return {
      send: (request) => {
        const recorded: RecordedRequest = {
          type: request.type,
          endpoint,
          sentAtMs: performance.now(),
          outcome: null,
        };
        this.requests.push(recorded);
        byId.set(request.id, recorded);
        connection.send(request);
      },
      close: () => connection.close(),
    };
  }

  /** Requests of `type` that got `outcome`. */
  answered(type: string, outcome: string): RecordedRequest[] {
    return this.requests.filter((r) => r.type === type && r.outcome === outcome);
  }
}
