// How long the client vouches for a lease (docs/design.md §2). Pure arithmetic, so tests and the
// simulator's checkers can state it exactly.
import type { ClientPlantedBugs } from "./resolve-locker-options.js";

export interface ValidityInput {
  /** Clock time at which the request that produced this lease was sent. */
  sentAtMs: number;
  /** Clock time at which its answer arrived (used only by a planted bug). */
  repliedAtMs: number;
  /** The lease length the cluster granted. */
  ttlMs: number;
  /**
   * The leader's lower bound on how long the request waited in the queue before the grant
   * (0 for an immediate grant or a refresh). The lease started no earlier than `sent + waited`.
   */
  waitedMs: number;
  driftFactor: number;
  marginMs: number;
  plantedBugs?: Required<ClientPlantedBugs>;
}

/**
 * The clock time until which the client treats the lock as held:
 * `sent + (waited + ttl) × (1 − drift) − margin`. The cluster's deadline is measured from no
 * earlier than its receipt of the request (itself after `sent`), plus at least `waited` for a
 * queued grant, on a clock whose rate differs from ours by at most `drift`; so this is never
 * later than the cluster's deadline.
 */
export function validUntilMs(input: ValidityInput): number {
  const bugs = input.plantedBugs;
  const startMs = bugs?.timerFromReply ? input.repliedAtMs : input.sentAtMs;
  const spanMs = input.waitedMs + input.ttlMs;
  if (bugs?.ignoreDrift) return startMs + spanMs;
  return startMs + spanMs * (1 - input.driftFactor) - input.marginMs;
}
