// The client side of watch: a long-poll loop that follows the leader and resumes from the last
// revision it delivered, so a reconnect or a leader change neither skips nor repeats an event.
import type { WatchEvent, WatchRequest } from "@dlock/protocol";
import {
  InvalidArgumentError,
  WATCH_WAIT_MS_MAX,
  validateKey,
  validateKeyPrefix,
} from "@dlock/protocol";
import type { Router } from "./router.js";
import type { WatchOptions } from "./watch-options.js";
import { DEFAULT_WATCH_POLL_MS } from "./watch-options.js";

export interface WatchStreamDeps {
  router: Router;
  /** The operation deadline for a call that may wait `waitMs` on the server. */
  deadline: (waitMs: number) => number;
  requestTimeoutMs: number;
  signal: AbortSignal;
}

/** Checks the arguments of watch() before anything is sent. */
export function watchRequestOf(key: string, options: WatchOptions): Omit<WatchRequest, "id"> {
  const prefix = options.prefix === true;
  if (prefix) validateKeyPrefix(key, "key");
  else validateKey(key);
  const pollMs = options.pollMs ?? DEFAULT_WATCH_POLL_MS;
  if (!Number.isInteger(pollMs) || pollMs < 0 || pollMs > WATCH_WAIT_MS_MAX) {
    throw new InvalidArgumentError(
      "pollMs",
      `must be a whole number of ms in [0, ${WATCH_WAIT_MS_MAX}]`,
    );
  }
  const from = options.fromRevision;
  if (from !== undefined && (!Number.isSafeInteger(from) || from < 1)) {
    throw new InvalidArgumentError("fromRevision", "must be a positive integer");
  }
  const request: Omit<WatchRequest, "id"> = { type: "watch", key, waitMs: pollMs };
  if (prefix) request.prefix = true;
  if (from !== undefined) request.fromRevision = from;
  return request;
}

/** Yields the events of `request` in committed order until `deps.signal` aborts. */
export async function* watchStream(
  request: Omit<WatchRequest, "id">,
  deps: WatchStreamDeps,
): AsyncGenerator<WatchEvent, void, undefined> {
  const waitMs = request.waitMs ?? DEFAULT_WATCH_POLL_MS;
  let fromRevision = request.fromRevision;
  for (;;) {
    if (deps.signal.aborted) return;
    const next: Omit<WatchRequest, "id"> =
      fromRevision === undefined ? { ...request } : { ...request, fromRevision };
    let result;
    try {
      ({ result } = await deps.router.call<"watch">(next, {
        deadlineMs: deps.deadline(waitMs),
        attemptTimeoutMs: deps.requestTimeoutMs + waitMs,
        signal: deps.signal,
      }));
    } catch (error) {
      if (deps.signal.aborted) return;
      throw error;
    }
    for (const event of result.events) yield event;
    fromRevision = result.revision + 1;
  }
}
