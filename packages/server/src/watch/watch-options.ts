import { positiveInteger } from "@dlock/protocol";

export interface WatchOptions {
  /**
   * Events the leader keeps for watchers to resume from. A watcher that falls further behind
   * (or asks for a revision before this node's start or last snapshot install) gets
   * WATCH_REVISION_COMPACTED and lists again. About 40 bytes per event plus its key and value
   * strings (most of them the lock table's too).
   */
  historyEventsMax?: number;
  /** Watch long-polls one connection may have waiting at once (more: TOO_MANY_REQUESTS). */
  watchesPerConnectionMax?: number;
  /** Watch long-polls waiting on this node at once, over all connections. */
  watchesMax?: number;
}

export const DEFAULT_WATCH_OPTIONS = {
  historyEventsMax: 100_000,
  watchesPerConnectionMax: 64,
  watchesMax: 10_000,
} as const;

export type ResolvedWatchOptions = Required<WatchOptions>;

export function resolveWatchOptions(options: WatchOptions = {}): ResolvedWatchOptions {
  const resolved = {
    historyEventsMax: options.historyEventsMax ?? DEFAULT_WATCH_OPTIONS.historyEventsMax,
    watchesPerConnectionMax:
      options.watchesPerConnectionMax ?? DEFAULT_WATCH_OPTIONS.watchesPerConnectionMax,
    watchesMax: options.watchesMax ?? DEFAULT_WATCH_OPTIONS.watchesMax,
  };
  for (const field of ["historyEventsMax", "watchesPerConnectionMax", "watchesMax"] as const) {
    positiveInteger(resolved[field], undefined, field);
  }
  return resolved;
}
