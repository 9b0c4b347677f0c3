// Deliberate bugs that the simulator's tests switch on to prove its checkers catch them. Reachable
// only through @dlock/server/internal: the public option types have no field for them, and the key
// that carries them on an options object is a symbol only this module holds.
import type { LeaseManagerOptions } from "./lease-manager.js";
import type { LockStateMachineOptions } from "./state-machine.js";

/** Every flag defaults to false; each does exactly what its name says. Never set in production. */
export interface PlantedLockBugs {
  /** LeaseManager.becomeLeader gives existing leases no TTL: their deadline is the election moment. */
  noLeaseExtensionOnElection?: boolean;
  /** The state machine applies an expire whose token matches even if a refresh changed the revision. */
  expireIgnoresRefresh?: boolean;
  /**
   * A waiter granted by a release/expire/delay end keeps the deadline of its queue lease
   * (min(waitMs, ttlMs) from its last acquire, possibly already past) instead of a fresh lock lease
   * of ttlMs from the grant.
   */
  grantWaiterWithoutLeaseCheck?: boolean;
  /** A semaphore grants a new acquire's permits without counting the permits already held. */
  semaphoreOvercommit?: boolean;
  /**
   * LeaseManager times the lease of an election key's holder (`election/*`) at a quarter of its
   * TTL: it expires before the leader's first refresh, and a queued campaigner leads while the
   * old leader still holds a live lease.
   */
  electionLeaseCutShort?: boolean;
}

const plantedLockBugsKey = Symbol("dlock.server.plantedLockBugs");

type LockOptions = LockStateMachineOptions | LeaseManagerOptions;

/** A copy of the options of a LockStateMachine or LeaseManager carrying bugs. */
export function withPlantedLockBugs<T extends LockOptions>(
  options: T,
  bugs: PlantedLockBugs | undefined,
): T & { [plantedLockBugsKey]?: PlantedLockBugs } {
  return bugs === undefined ? { ...options } : { ...options, [plantedLockBugsKey]: { ...bugs } };
}

/** The bugs the options carry, every flag filled in (all false for public options). */
export function plantedLockBugsOf(options: LockOptions): Required<PlantedLockBugs> {
  const bugs = (options as { [plantedLockBugsKey]?: PlantedLockBugs })[plantedLockBugsKey];
  return {
    noLeaseExtensionOnElection: bugs?.noLeaseExtensionOnElection === true,
    expireIgnoresRefresh: bugs?.expireIgnoresRefresh === true,
    grantWaiterWithoutLeaseCheck: bugs?.grantWaiterWithoutLeaseCheck === true,
    semaphoreOvercommit: bugs?.semaphoreOvercommit === true,
    electionLeaseCutShort: bugs?.electionLeaseCutShort === true,
  };
}
