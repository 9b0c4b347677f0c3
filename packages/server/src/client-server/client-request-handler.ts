// What the client-facing server calls for each decoded, validated request. The coordinator
// implements it on top of the Raft host and the lock state machine.
import type { ClientRequest, ClientRequestType, ResultByRequestType } from "@dlock/protocol";
import type { Principal } from "../auth/grants.js";

/** The result of any request: the `result` field of the ok frame. */
export type ClientResult = ResultByRequestType[ClientRequestType];

export interface ClientRequestContext {
  /** Unique per accepted connection for the life of this server (never reused). */
  connectionId: number;
  /** The `clientId` the client announced in its hello. */
  clientId: string;
  /** Who the connection authenticated as; null when the server runs without an auth file. */
  principal: Principal | null;
  /**
   * When the request's bytes were read, on the server's monotonic clock (`nowMs` option,
   * performance.now() by default). Lease deadlines are measured from no earlier than this.
   */
  receivedAtMs: number;
}

export interface ClientRequestHandler {
  /**
   * Serves one request. Resolve with the result for its type (see ResultByRequestType); reject
   * with a DlockError (NotLeaderError with a leader hint, LockBusyError, ...) to answer that error.
   * Any other rejection is answered as INTERNAL and logged. Many calls are in flight at once, also
   * from one connection; answers go out in completion order.
   */
  handle(request: ClientRequest, context: ClientRequestContext): Promise<ClientResult>;
  /**
   * The connection closed (client gone, idle, protocol error or server stop). Requests still in
   * flight on it will have their answers discarded: cancel what only that client was waiting for.
   */
  connectionClosed?(connectionId: number): void;
}
