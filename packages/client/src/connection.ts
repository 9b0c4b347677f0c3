// One client connection to one server: the hello check, pipelined requests matched to responses
// by id (answers may come in any order), a bounded number in flight, a timeout per request.
// The timeouts share one timer, armed for the earliest deadline and left alone when an answer
// comes: a clock timer set and cleared per request cost more than the request's own bookkeeping.
import type {
  ClientRequest,
  ClientRequestType,
  ClientResponse,
  DlockError,
  HelloFrame,
  ResultByRequestType,
} from "@dlock/protocol";
import {
  ConnectionClosedError,
  REQUEST_ID_MAX,
  TimedOutError,
  TooManyRequestsError,
  checkHello,
  errorFromWire,
  parseResult,
} from "@dlock/protocol";
import type { Clock, TimerHandle } from "./clock.js";
import type { Transport, TransportConnection } from "./transport.js";

/** A request as the caller builds it; the connection assigns the id. */
export type RequestWithoutId<T extends ClientRequestType = ClientRequestType> =
  ClientRequest extends infer R ? (R extends { type: T } ? Omit<R, "id"> : never) : never;

export type ConnectionState = "connecting" | "open" | "closed";

export interface ClientConnectionOptions {
  endpoint: string;
  transport: Transport;
  clock: Clock;
  /** Our hello (clusterId null: accept whichever cluster answers). */
  hello: HelloFrame;
  connectTimeoutMs: number;
  inFlightRequestsMax: number;
  /** Called once when the connection closes, with the reason (null when closed by us). */
  onClose?: (error: DlockError | null) => void;
}

interface Pending {
  type: ClientRequestType;
  resolve: (result: unknown) => void;
  reject: (error: DlockError) => void;
  /** Clock time at which the request times out. */
  deadlineMs: number;
  timeoutMs: number;
}

export class ClientConnection {
  readonly endpoint: string;
  /** Resolves when the handshake completed; rejects if the connection closes or times out first. */
  readonly opened: Promise<void>;
  private stateValue: ConnectionState = "connecting";
  private serverHello: HelloFrame | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  private readonly link: TransportConnection;
  private readonly clock: Clock;
  private readonly connectTimer: TimerHandle;
  /** The timer of the sweep, armed no later than the earliest deadline in flight, or null. */
  private sweepTimer: TimerHandle | null = null;
  /** When sweepTimer fires (Infinity when it is not armed). */
  private sweepAtMs = Infinity;
  private readonly sweepBound = () => this.sweep();
  private closeError: DlockError | null = null;
  private resolveOpen!: () => void;
  private rejectOpen!: (error: DlockError) => void;

  constructor(private readonly options: ClientConnectionOptions) {
    this.endpoint = options.endpoint;
    this.clock = options.clock;
    this.opened = new Promise<void>((resolve, reject) => {
      this.resolveOpen = resolve;
      this.rejectOpen = reject;
    });
    // Nobody may be waiting on `opened` when it fails; the failure still reaches every request.
    this.opened.catch(() => {});
    this.connectTimer = this.clock.setTimeout(() => {
      if (this.stateValue === "connecting") {
        this.fail(
          new TimedOutError(`${this.endpoint}: no handshake within ${options.connectTimeoutMs} ms`),
        );
      }
    }, options.connectTimeoutMs);
    this.link = options.transport.connect(options.endpoint, options.hello, {
      onOpen: (hello) => {
        if (this.stateValue !== "connecting") return;
        const mismatch = checkHello(hello, {
          role: "client",
          clusterId: options.hello.clusterId,
        });
        if (mismatch) {
          this.fail(mismatch);
          return;
        }
        this.clock.clearTimeout(this.connectTimer);
        this.serverHello = hello;
        this.stateValue = "open";
        this.resolveOpen();
      },
      onResponse: (response) => this.onResponse(response),
      onClose: (error) => {
        const reason =
          this.closeError ?? error ?? new ConnectionClosedError(`${this.endpoint}: closed`);
        this.finish(reason);
      },
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Why the connection closed (the server's connection-level error, if it sent one), once closed. */
  get closeReason(): DlockError | null {
    return this.closeError;
  }

  /** The node that answered the handshake, once open. */
  get nodeId(): string | null {
    return this.serverHello?.nodeId ?? null;
  }

  /** The cluster id the server announced, once open. */
  get clusterId(): string | null {
    return this.serverHello?.clusterId ?? null;
  }

  /** A method, not the `state` getter, so callers re-read it after an await. */
  isClosed(): boolean {
    return this.stateValue === "closed";
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with its checked result. Rejects with the server's typed error,
   * TimedOutError after `timeoutMs`, ConnectionClosedError if the connection ends first, or
   * TooManyRequestsError when `inFlightRequestsMax` requests are already waiting.
   */
  request<T extends ClientRequestType>(
    request: RequestWithoutId<T>,
    timeoutMs: number,
  ): Promise<ResultByRequestType[T]> {
    if (this.stateValue !== "open") {
      return Promise.reject(
        this.closeError ?? new ConnectionClosedError(`${this.endpoint}: not open`),
      );
    }
    if (this.pending.size >= this.options.inFlightRequestsMax) {
      return Promise.reject(
        new TooManyRequestsError(
          `${this.options.inFlightRequestsMax} requests already in flight on this connection`,
        ),
      );
    }
    const id = this.allocateRequestId();
    const type = request.type as T;
    const deadlineMs = this.clock.now() + timeoutMs;
    return new Promise<ResultByRequestType[T]>((resolve, reject) => {
      this.pending.set(id, {
        type,
        resolve: resolve as (result: unknown) => void,
        reject,
        deadlineMs,
        timeoutMs,
      });
      if (deadlineMs < this.sweepAtMs) this.armSweep(deadlineMs);
      this.link.send({ ...request, id } as ClientRequest);
    });
  }

  /** Closes the connection; requests still waiting fail with ConnectionClosedError. */
  close(): void {
    if (this.stateValue === "closed") return;
    this.fail(new ConnectionClosedError(`${this.endpoint}: closed by the client`));
  }

  private allocateRequestId(): number {
    // Ids wrap; one still in flight after 2^31 requests is skipped, never reused.
    for (;;) {
      const id = this.nextRequestId;
      this.nextRequestId = id >= REQUEST_ID_MAX ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private armSweep(atMs: number): void {
    if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer);
    this.sweepAtMs = atMs;
    this.sweepTimer = this.clock.setTimeout(this.sweepBound, atMs - this.clock.now());
  }

  private disarmSweep(): void {
    if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    this.sweepAtMs = Infinity;
  }

  /** Times out every request whose deadline has come, in the order sent, and re-arms. */
  private sweep(): void {
    // The timer was set for sweepAtMs: what was due then is due now, even if the clock reads a
    // hair earlier (rounding in `now + delay`), as a timer per request would have fired it.
    const dueMs = Math.max(this.clock.now(), this.sweepAtMs);
    this.sweepTimer = null;
    this.sweepAtMs = Infinity;
    let nextMs = Infinity;
    for (const [id, pending] of this.pending) {
      if (pending.deadlineMs > dueMs) {
        nextMs = Math.min(nextMs, pending.deadlineMs);
        continue;
      }
      this.pending.delete(id);
      pending.reject(
        new TimedOutError(
          `${pending.type} got no answer from ${this.endpoint} in ${pending.timeoutMs} ms`,
        ),
      );
    }
    if (nextMs !== Infinity && this.stateValue !== "closed") this.armSweep(nextMs);
  }

  private onResponse(response: ClientResponse): void {
    if (response.id === null) {
      // A connection-level error: the server closes after it.
      this.fail(errorFromWire(response.type === "error" ? response.error : null));
      return;
    }
    const pending = this.pending.get(response.id);
    if (pending === undefined) return; // Timed out already: a late answer is dropped.
    // The sweep timer stays armed, maybe for this request's deadline: when it fires it finds
    // nothing due and re-arms for the earliest left, or stops when nothing is in flight.
    this.pending.delete(response.id);
    if (response.type === "error") {
      pending.reject(errorFromWire(response.error));
      return;
    }
    try {
      pending.resolve(parseResult(pending.type, response.result));
    } catch (error) {
      pending.reject(error as DlockError);
    }
  }

  private fail(error: DlockError): void {
    if (this.stateValue === "closed") return;
    this.closeError ??= error;
    this.finish(error);
    this.link.close();
  }

  private finish(reason: DlockError): void {
    if (this.stateValue === "closed") return;
    if (this.stateValue === "connecting") this.rejectOpen(reason);
    this.closeError ??= reason;
    this.stateValue = "closed";
    this.clock.clearTimeout(this.connectTimer);
    this.disarmSweep();
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const pending of failed) pending.reject(reason);
    this.options.onClose?.(reason);
  }
}
