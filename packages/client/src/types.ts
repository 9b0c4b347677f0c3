// The public shapes of the client. Implementation classes stay internal.
import type { LockLostError } from "@dlock/protocol";

/**
 * held: the client vouches for the lock (until `validUntilMs`).
 * releasing: release() is under way (no more refreshes).
 * released: the release finished.
 * lost: the client stopped vouching (refresh refused, validity ran out, or the locker closed).
 */
export type LockState = "held" | "releasing" | "released" | "lost";

export interface ReleaseOutcome {
  /** The cluster freed the lock because of this release. */
  released: boolean;
  /**
   * The lock had been lost before the release finished (validity ran out or the cluster no
   * longer held the grant): work done after the loss was not protected by the lock. This is a
   * report, not a failure: nothing held by anyone else was touched.
   */
  lost: boolean;
}

export interface Lock extends AsyncDisposable {
  readonly key: string;
  readonly value: string;
  /** Strictly greater than any token issued before for this key: pass it to fenced resources. */
  readonly fencingToken: number;
  /** The lease length granted by the cluster. */
  readonly ttlMs: number;
  /** Aborted (with a LockLostError as reason) when the lock is lost. */
  readonly signal: AbortSignal;
  readonly state: LockState;
  /** Clock time (the locker's monotonic clock) until which the client vouches for the lock. */
  readonly validUntilMs: number;
  /** Whether the lock is held and its validity has not run out (checks the clock now). */
  isValid(): boolean;
  /** Calls `callback` once when the lock is lost (at once if it already is); returns an unsubscribe. */
  onLost(callback: (error: LockLostError) => void): () => void;
  /** Refreshes now. Rejects with LockLostError if the lock is (or becomes) lost. */
  refresh(): Promise<void>;
  /**
   * Releases the lock (only this grant: scoped by value and fencing token). Idempotent. Reports
   * a lock lost before release in the outcome instead of throwing. Rejects (ClusterUnavailable)
   * only if the cluster could not be reached; the lease then ends by its ttl, and release() may be
   * called again.
   */
  release(): Promise<ReleaseOutcome>;
}

/** A grant without a managed Lock (no refresh, no timers): what `locker.acquire()` returns. */
export interface Grant {
  key: string;
  value: string;
  fencingToken: number;
  ttlMs: number;
  /** Clock time until which the grant is valid as the client sees it. */
  validUntilMs: number;
  /** Clock time at which the request that obtained the grant was sent. */
  sentAtMs: number;
  /** Attempts made (1 + retries) before the grant. */
  attempts: number;
}
