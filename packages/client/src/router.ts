// Finds the leader and gets a request answered by it. One connection at a time (to the node
// believed to lead); NOT_LEADER hints are followed, failed endpoints are left for the next one
// in round-robin with exponential backoff, until the operation's deadline. Every request of the
// protocol is safe to repeat (acquire carries a request id and the same value, refresh and
// release name the grant's token), so any attempt whose outcome is unknown is simply retried.
import type {
  ClientRequestType,
  DlockError,
  HelloFrame,
  ResultByRequestType,
} from "@dlock/protocol";
import {
  UnauthenticatedError,
  AbortedError,
  ClusterUnavailableError,
  ConnectionClosedError,
  DlockError as DlockErrorClass,
  InvalidArgumentError,
  NotLeaderError,
  OverloadedError,
  helloVersionFields,
  TimedOutError,
  TooManyRequestsError,
} from "@dlock/protocol";
import type { Clock } from "./clock.js";
import { abortReason, sleep } from "./clock.js";
import type { RequestWithoutId } from "./connection.js";
import { ClientConnection } from "./connection.js";
import type { LockerEventEmitter } from "./locker-events.js";
import type { ResolvedLockerOptions } from "./resolve-locker-options.js";

export interface CallOptions<T extends ClientRequestType> {
  /** When the whole operation gives up (clock ms): ClusterUnavailableError after it. */
  deadlineMs: number;
  /** Timeout of one attempt. Default: the locker's requestTimeoutMs. */
  attemptTimeoutMs?: number;
  signal?: AbortSignal | null;
  /**
   * Called if the caller aborted while an attempt was in flight and that attempt later succeeds
   * (e.g. an acquire granted just as the caller gave up: the caller releases it).
   */
  onLateResult?: (result: ResultByRequestType[T]) => void;
}

/** A result and the clock time at which the attempt that produced it was sent. */
export interface TimedResult<R> {
  result: R;
  sentAtMs: number;
}

const isRetryableServerError = (
  error: unknown,
): error is ClusterUnavailableError | OverloadedError | TooManyRequestsError =>
  error instanceof ClusterUnavailableError ||
  error instanceof OverloadedError ||
  error instanceof TooManyRequestsError;

export class Router {
  private readonly clock: Clock;
  private connection: ClientConnection | null = null;
  /** An address a follower named as the leader's; tried before the round-robin. */
  private preferredEndpoint: string | null = null;
  private nextEndpointIndex = 0;
  private consecutiveFailures = 0;
  private hintsFollowed = 0;
  private readonly failedConnections = new WeakSet<ClientConnection>();
  private closed = false;
  private readonly hello: HelloFrame;
  /** The node that last answered a request: the leader as this locker knows it. */
  private leaderId: string | null = null;

  constructor(
    private readonly options: ResolvedLockerOptions,
    private readonly events: LockerEventEmitter,
  ) {
    this.clock = options.clock;
    this.nextEndpointIndex = Math.floor(options.random() * options.endpoints.length);
    this.hello = {
      type: "hello",
      ...helloVersionFields(),
      clusterId: options.clusterId,
      role: "client",
      clientId: options.clientId,
      ...(options.authToken === null ? {} : { authToken: options.authToken }),
    };
  }

  /** The node id of the server currently connected (the believed leader), if any. */
  get connectedNodeId(): string | null {
    return this.connection?.state === "open" ? this.connection.nodeId : null;
  }

  /** Sends `request` to the leader, retrying as described above, until `deadlineMs`. */
  async call<T extends ClientRequestType>(
    request: RequestWithoutId<T>,
    options: CallOptions<T>,
  ): Promise<TimedResult<ResultByRequestType[T]>> {
    const signal = options.signal ?? null;
    let lastError: DlockError | null = null;
    for (;;) {
      if (this.closed) throw new AbortedError("the locker is closed");
      if (signal?.aborted) throw abortReason(signal);
      const remainingMs = options.deadlineMs - this.clock.now();
      if (remainingMs <= 0) {
        throw new ClusterUnavailableError(
          `no leader answered ${request.type} in time${lastError ? `: ${lastError.message}` : ""}`,
          { cause: lastError },
        );
      }
      const connection = this.currentConnection();
      try {
        if (connection.state === "connecting") await raceAbort(connection.opened, signal);
        if (connection.state !== "open") {
          // It opened and closed again before this await resumed: over TLS the server's hello
          // and its refusal of the credentials (UNAUTHENTICATED) often arrive in one read.
          throw (
            connection.closeReason ?? new ConnectionClosedError(`${connection.endpoint}: closed`)
          );
        }
      } catch (error) {
        if (this.closed) throw new AbortedError("the locker is closed");
        if (signal?.aborted) throw abortReason(signal);
        lastError = asDlockError(error);
        // Every node checks the same credentials: another endpoint or a retry cannot help.
        if (error instanceof UnauthenticatedError) throw error;
        // A node refusing the connection (too many from this address) says when to come back.
        const retryAfterMs =
          lastError instanceof OverloadedError || lastError instanceof TooManyRequestsError
            ? lastError.retryAfterMs
            : null;
        if (this.endpointFailed(connection)) {
          await this.backoff(options.deadlineMs, signal, retryAfterMs);
        }
        continue;
      }
      const attemptTimeoutMs = Math.max(
        1,
        Math.min(options.attemptTimeoutMs ?? this.options.requestTimeoutMs, remainingMs),
      );
      const sentAtMs = this.clock.now();
      const attempt = connection.request<T>(request, attemptTimeoutMs);
      try {
        const result = await raceAbort(attempt, signal);
        this.consecutiveFailures = 0;
        this.hintsFollowed = 0;
        // A node without a leader answers status itself: only other answers come from a leader.
        if (request.type !== "status") this.answeredBy(connection);
        return { result, sentAtMs };
      } catch (error) {
        if (signal?.aborted) {
          if (options.onLateResult) {
            const onLate = options.onLateResult;
            attempt.then(onLate, () => {});
          } else {
            attempt.catch(() => {});
          }
          throw abortReason(signal);
        }
        lastError = asDlockError(error);
        // The server answers our hello first and refuses the credentials right after it, so
        // the refusal may end a request already sent. No other node would take them either.
        if (error instanceof UnauthenticatedError) throw error;
        if (error instanceof NotLeaderError) {
          const address = error.leaderHint?.clientAddress ?? null;
          if (
            address !== null &&
            address !== connection.endpoint &&
            this.hintsFollowed < this.options.endpoints.length + 1
          ) {
            this.hintsFollowed++;
            this.followHint(connection, address);
            continue;
          }
          this.hintsFollowed = 0;
          if (this.endpointFailed(connection)) await this.backoff(options.deadlineMs, signal, null);
          continue;
        }
        if (isRetryableServerError(error)) {
          const retryAfterMs = error instanceof ClusterUnavailableError ? null : error.retryAfterMs;
          this.consecutiveFailures++; // Back off further each time the cluster says "not now".
          await this.backoff(options.deadlineMs, signal, retryAfterMs);
          continue;
        }
        if (error instanceof TimedOutError || connection.isClosed()) {
          // No answer (a paused or partitioned node) or a broken connection: try another node.
          if (this.endpointFailed(connection)) await this.backoff(options.deadlineMs, signal, null);
          continue;
        }
        throw error;
      }
    }
  }

  /** Closes the connection; calls in progress fail with AbortedError. */
  close(): void {
    this.closed = true;
    this.connection?.close();
    this.connection = null;
  }

  /** The connection to use: the current one, or a new one to the next endpoint to try. */
  private currentConnection(): ClientConnection {
    if (this.connection !== null && this.connection.state !== "closed") return this.connection;
    const endpoint = this.preferredEndpoint ?? this.nextEndpoint();
    const created: ClientConnection = new ClientConnection({
      endpoint,
      transport: this.options.transport,
      clock: this.clock,
      hello: this.hello,
      connectTimeoutMs: this.options.connectTimeoutMs,
      inFlightRequestsMax: this.options.inFlightRequestsMax,
      onClose: () => {
        if (this.connection === created) this.connection = null;
      },
    });
    this.connection = created;
    created.opened.then(
      () => this.events.emit("connected", { endpoint, nodeId: created.nodeId }),
      () => {},
    );
    return created;
  }

  /** The round-robin's endpoint (resolveLockerOptions refuses an empty list). */
  private nextEndpoint(): string {
    const endpoints = this.options.endpoints;
    const endpoint = endpoints[this.nextEndpointIndex % endpoints.length];
    if (endpoint === undefined) {
      throw new InvalidArgumentError("endpoints", "must list at least one host:port");
    }
    return endpoint;
  }

  private answeredBy(connection: ClientConnection): void {
    const nodeId = connection.nodeId;
    if (nodeId === null || nodeId === this.leaderId) return;
    const previousLeaderId = this.leaderId;
    this.leaderId = nodeId;
    this.events.emit("leaderChanged", {
      leaderId: nodeId,
      previousLeaderId,
      endpoint: connection.endpoint,
    });
  }

  private followHint(connection: ClientConnection, address: string): void {
    // Calls that fail on this connection because we close it go straight to the leader.
    this.failedConnections.add(connection);
    if (this.connection !== connection && this.connection !== null) return; // Someone moved on.
    this.preferredEndpoint = address;
    connection.close();
    if (this.connection === connection) this.connection = null;
  }

  /**
   * Leaves the endpoint of `connection` for the next one. Many calls may see the same connection
   * fail; only the first moves the rotation on (so no endpoint is skipped) and backs off (the
   * others go straight to the connection that replaces it). Returns whether this was the first.
   */
  private endpointFailed(connection: ClientConnection): boolean {
    connection.close();
    if (this.connection === connection) this.connection = null;
    if (this.failedConnections.has(connection)) return false;
    this.failedConnections.add(connection);
    this.consecutiveFailures++;
    if (this.preferredEndpoint === connection.endpoint || this.preferredEndpoint === null) {
      this.preferredEndpoint = null;
      this.nextEndpointIndex = (this.nextEndpointIndex + 1) % this.options.endpoints.length;
    }
    return true;
  }

  private async backoff(
    deadlineMs: number,
    signal: AbortSignal | null,
    retryAfterMs: number | null,
  ): Promise<void> {
    const exponent = Math.min(this.consecutiveFailures, 16);
    const ceilingMs = Math.min(
      this.options.reconnectDelayMsMax,
      this.options.reconnectDelayMsMin * 2 ** exponent,
    );
    // Jitter in [ceiling / 2, ceiling): clients that failed together do not retry together.
    const jitteredMs = ceilingMs * (0.5 + this.options.random() / 2);
    const delayMs = Math.min(
      Math.max(jitteredMs, retryAfterMs ?? 0),
      deadlineMs - this.clock.now(),
    );
    if (delayMs > 0) await sleep(this.clock, delayMs, signal ?? undefined);
  }
}

function asDlockError(error: unknown): DlockError {
  return error instanceof DlockErrorClass
    ? error
    : new ConnectionClosedError(String(error), { cause: error });
}

/** `promise`, or a rejection with the abort reason as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | null): Promise<T> {
  if (signal === null) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error as Error);
      },
    );
  });
}
