/** What the client-facing server reports; admin's ServerMetrics implements it for Prometheus. */
export interface ClientServerMetrics {
  /** A request finished: `result` is "ok" or an error code; `durationMs` from receipt to reply. */
  requestCompleted(type: string, result: string, durationMs: number): void;
  /** Open client connections changed by `delta` (+1 accepted, -1 closed). */
  connectionsChanged(delta: number): void;
  /** A connection was refused or closed for cause; `reason` is an error code. */
  connectionRejected(reason: string): void;
  /**
   * A fairness limit acted: "source_connections", "connections", "request_rate", "in_flight",
   * "server_in_flight" (requests refused), "reply_backlog" (reading paused on unread answers).
   */
  limitApplied(limit: ClientLimit): void;
}

export type ClientLimit =
  | "source_connections"
  | "connections"
  | "request_rate"
  | "in_flight"
  | "server_in_flight"
  | "reply_backlog";

export const NOOP_CLIENT_SERVER_METRICS: ClientServerMetrics = {
  requestCompleted() {},
  connectionsChanged() {},
  connectionRejected() {},
  limitApplied() {},
};
