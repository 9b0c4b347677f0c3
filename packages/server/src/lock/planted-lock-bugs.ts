// Deliberate lock-table bugs for the simulator's tests (see ../planted-bugs.ts).
import { plantedBugChannel } from "../planted-bugs.js";
import type { PlantedBugsOf } from "../planted-bugs.js";

/** Each flag does exactly what its name says. Never set in production. */
const lockBugs = plantedBugChannel("dlock.server.plantedLockBugs", {
  /** LeaseManager.becomeLeader gives existing leases no TTL: their deadline is the election moment. */
  noLeaseExtensionOnElection: true,
  /** The state machine applies an expire whose token matches even if a refresh changed the revision. */
  expireIgnoresRefresh: true,
  /**
   * A waiter granted by a release/expire/delay end keeps the deadline of its queue lease
   * (min(waitMs, ttlMs) from its last acquire, possibly already past) instead of a fresh lock lease
   * of ttlMs from the grant.
   */
  grantWaiterWithoutLeaseCheck: true,
  /** A semaphore grants a new acquire's permits without counting the permits already held. */
  semaphoreOvercommit: true,
  /** A reader-writer key grants a reader at once while a writer holds it (queue empty). */
  rwReaderJoinsWriter: true,
  /**
   * LeaseManager times the lease of an election key's holder (`election/*`) at a quarter of its
   * TTL: it expires before the leader's first refresh, and a queued campaigner leads while the
   * old leader still holds a live lease.
   */
  electionLeaseCutShort: true,
});

export type PlantedLockBugs = PlantedBugsOf<typeof lockBugs>;

/** A copy of the options of a LockStateMachine or LeaseManager carrying bugs. */
export const withPlantedLockBugs = lockBugs.with;
export const plantedLockBugsOf = lockBugs.of;
