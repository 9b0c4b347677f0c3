// The client's view of the network: a connection carries requests out and responses in, as
// messages. The TCP transport frames them on a socket; tests and the simulator deliver them in
// memory. The client core (connection.ts, router.ts) never touches a socket.
import type { ClientRequest, ClientResponse, DlockError, HelloFrame } from "@dlock/protocol";

export interface TransportConnectionEvents {
  /** The handshake completed; `hello` is the server's (its `nodeId` says which node answered). */
  onOpen(hello: HelloFrame): void;
  /** A response (or a connection-level error frame, id null) arrived. */
  onResponse(response: ClientResponse): void;
  /**
   * The connection ended, before or after `onOpen`; called exactly once, and nothing is called
   * after it. `error` says why (null when the client closed it).
   */
  onClose(error: DlockError | null): void;
}

export interface TransportConnection {
  /** Queues a request. Only called after `onOpen`; never throws (failures end in `onClose`). */
  send(request: ClientRequest): void;
  /** Closes the connection; `onClose(null)` follows unless it already closed. */
  close(): void;
}

export interface Transport {
  /**
   * Starts connecting to `endpoint` ("host:port") and sends `hello` as the first frame. Events
   * must not be called synchronously from within `connect`.
   */
  connect(
    endpoint: string,
    hello: HelloFrame,
    events: TransportConnectionEvents,
  ): TransportConnection;
}
