// Leader election on top of the lock: a campaign is a queued acquire of the election's key (FIFO,
// so candidates lead in the order they asked), the leadership is that lock (refreshed, with its
// fencing token, lost when the lease cannot be vouched for), and observing is a list followed by
// a watch of the key from the list's revision: no leader change is missed or seen twice.
import type { Duration } from "@dlock/protocol";
import { ELECTION_KEY_PREFIX, validateKey } from "@dlock/protocol";
import type { Lock, ReleaseOutcome } from "./types.js";

/** Elections live under this key prefix: grant `election/*` (or `election/<name>`) to campaign. */
export { ELECTION_KEY_PREFIX };

/** How long one queued campaign attempt waits before it queues again (within the server's max). */
export const DEFAULT_CAMPAIGN_WAIT_MS = 60 * 60 * 1000;

/** The lock key of election `name`; InvalidArgumentError naming `name` when it does not fit. */
export function electionKey(name: string): string {
  if (typeof name !== "string" || name.length === 0) validateKey(name, "name");
  return validateKey(ELECTION_KEY_PREFIX + name, "name");
}

export interface CampaignOptions {
  /** The leadership's lease (refreshed while held). Default: the locker's lock default. */
  ttl?: Duration;
  /** Each queued attempt waits this long, then queues again. Default 1 h. */
  wait?: Duration;
  /** Gives up campaigning (AbortedError). */
  signal?: AbortSignal;
}

export interface ObserveOptions {
  /** Ends the iteration (without an error). */
  signal?: AbortSignal;
}

/** Who leads an election: null when nobody does. */
export interface Leader {
  /** The leader's campaign value (null when an auth file hides other principals' values). */
  value: string | null;
  /** The leadership's fencing token: greater than every earlier leadership's of this election. */
  fencingToken: number;
}

/** Leading an election: a Lock on its key, named for what it is. */
export interface Leadership extends Lock {
  readonly name: string;
  /** Steps down (releases the election's lock); the next candidate in line leads. */
  resign(): Promise<ReleaseOutcome>;
}

/**
 * The lock of election `name` as its leadership: the lock itself (its state stays the lock's own,
 * refreshed as the lock is), given the election's name and resign() (a release).
 */
export function leadershipOf(name: string, lock: Lock): Leadership {
  const resign = (): Promise<ReleaseOutcome> => lock.release();
  return Object.assign(lock, { name, resign });
}
