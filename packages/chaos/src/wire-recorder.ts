// Records every request a chaos client puts on the wire and the answer that reached it, by
// wrapping the client's TCP transport. The linearizability check needs this level: one
// `locker.lock()` call may send several requests (retries after a timeout, a reset connection, a
// NOT_LEADER), and an early one may have been granted and expired unseen before a later one came
// back LOCK_BUSY. Only the wire shows each request's own window and answer.
import type { Transport, TransportConnection } from "@dlock/client/internal";
import { wireOpOf } from "@dlock/testkit";
import type { WireOp } from "@dlock/testkit";

type ClientRequest = Parameters<TransportConnection["send"]>[0];
type ConnectArgs = Parameters<Transport["connect"]>;

export class RecordingTransport implements Transport {
  private nextId = 1;

  /**
   * @param client the client's name in the history
   * @param ops where requests are appended as they are sent (answers fill them in later)
   * @param nowMs the history's clock, shared by every client of the run
   */
  constructor(
    private readonly inner: Transport,
    private readonly client: string,
    private readonly ops: WireOp[],
    private readonly nowMs: () => number,
  ) {}

  connect(
    endpoint: ConnectArgs[0],
    hello: ConnectArgs[1],
    events: ConnectArgs[2],
  ): TransportConnection {
    // Request ids are per connection: answers are matched on this connection only.
    const pending = new Map<number, WireOp>();
    const link = this.inner.connect(endpoint, hello, {
      onOpen: (serverHello) => events.onOpen(serverHello),
      onResponse: (response) => {
        if (response.id !== null) {
          const op = pending.get(response.id);
          if (op !== undefined) {
            pending.delete(response.id);
            op.returnMs = this.nowMs();
            op.response = response;
          }
        }
        events.onResponse(response);
      },
      // Requests still pending stay unanswered: they may or may not have taken effect.
      onClose: (error) => events.onClose(error),
    });
    return {
      send: (request: ClientRequest) => {
        // Requests without a key (status, membership) are not lock operations.
        if ("key" in request) {
          const op = wireOpOf(this.nextId++, this.client, request, this.nowMs());
          this.ops.push(op);
          pending.set(request.id, op);
        }
        link.send(request);
      },
      close: () => link.close(),
    };
  }
}
