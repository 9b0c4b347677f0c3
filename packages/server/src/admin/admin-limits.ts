// Bounds of the admin HTTP port. A flood of scrapes or status polls must not starve the event
// loop the node's Raft traffic runs on: connections and requests in progress are capped, and
// /metrics is rendered at most once per interval, however many ask.

/** Open connections to the admin port; Node closes any beyond this at once. */
export const DEFAULT_ADMIN_CONNECTIONS_MAX = 64;
/** Requests handled at once; more are answered 503 with Retry-After. */
export const DEFAULT_ADMIN_REQUESTS_MAX = 16;
/** Shortest time between two /metrics renders; requests in between share the next render. */
export const METRICS_RENDER_INTERVAL_MS = 100;
/** Seconds a refused admin request is told to wait (Retry-After). */
export const ADMIN_RETRY_AFTER_SECONDS = 1;
/** Whole request (headers and body) within this, headers within ADMIN_HEADERS_TIMEOUT_MS. */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000;
export const ADMIN_HEADERS_TIMEOUT_MS = 5_000;
export const ADMIN_KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * Renders at most once per `intervalMs`. Every answer is rendered after the request for it
 * arrived (never a stale copy): requests that come while a render waits for its turn share it.
 */
export class RenderGate {
  private pending: Promise<string> | null = null;
  private lastStartMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly render: () => Promise<string>,
    private readonly intervalMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Resolves with a render started after this call. */
  next(): Promise<string> {
    if (this.pending !== null) return this.pending;
    const waitMs = Math.max(0, this.lastStartMs + this.intervalMs - this.nowMs());
    const pending = new Promise<void>((resolve) => setTimeout(resolve, waitMs)).then(() => {
      // From here on, new requests wait for the render after this one.
      this.pending = null;
      this.lastStartMs = this.nowMs();
      return this.render();
    });
    this.pending = pending;
    return pending;
  }
}
