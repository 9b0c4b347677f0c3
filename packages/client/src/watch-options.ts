// The options of locker.watch() (apart from the stream itself, which needs the router).

export interface WatchOptions {
  /** Watch every key that starts with the key given ("" = every key). Default false. */
  prefix?: boolean;
  /**
   * The first revision to deliver; resume with the last revision you fully handled + 1 (events of
   * one revision come together). Default: changes after the leader's current revision.
   */
  fromRevision?: number;
  /** Ends the iteration (without an error) when it aborts. */
  signal?: AbortSignal;
  /** How long one long-poll waits on the server for an event. Default 10 s. */
  pollMs?: number;
}

/** The long-poll length when the caller names none. */
export const DEFAULT_WATCH_POLL_MS = 10_000;
