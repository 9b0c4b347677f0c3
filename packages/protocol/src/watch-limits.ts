// Bounds of the watch and list requests, shared by client and server.

/** Elections live under this key prefix: the lock `election/<name>` is its leadership. */
export const ELECTION_KEY_PREFIX = "election/";

/** Locks in one list page when the request names no limit. */
export const LIST_LIMIT_DEFAULT = 100;
/** Most locks in one list page; the server also ends a page early at LIST_PAGE_BYTES_MAX. */
export const LIST_LIMIT_MAX = 1000;
/** Most events in one watch answer (and the default); one revision's events are never split. */
export const WATCH_EVENTS_MAX = 1000;
/** Longest a watch long-poll may wait for an event (the server may answer sooner). */
export const WATCH_WAIT_MS_MAX = 60_000;
/** Rough size at which the server ends a list page early (long queues): far below a frame. */
export const LIST_PAGE_BYTES_MAX = 1024 * 1024;
