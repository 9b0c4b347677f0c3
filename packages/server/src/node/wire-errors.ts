// Maps what the host, the Raft core and the lock table raise onto the protocol's typed errors,
// so a client always gets a stable code it knows how to handle (retry, follow a hint, give up).
import { ProposalDroppedError, isNotLeader } from "@dlock/raft";
import {
  ClusterUnavailableError,
  DlockError,
  InternalError,
  InvalidArgumentError,
  KindMismatchError,
  LockBusyError,
  LocksFullError,
  NotLeaderError,
  NotOwnerError,
  OverloadedError,
  PermitsMismatchError,
} from "@dlock/protocol";
import type { LeaderHint } from "@dlock/protocol";
import { HostError } from "../host/errors.js";
import type { LockError, RejectedResult } from "../lock/index.js";

/** Resolves a leader id to the hint a client can dial. */
export type LeaderHintOf = (leader: string | null) => LeaderHint | null;

/** A failure of propose/readIndex as the client should see it. */
export function hostFailureToWire(error: unknown, hintOf: LeaderHintOf): DlockError {
  if (error instanceof DlockError) return error;
  // The core refuses a proposal synchronously, before appending it: it had no effect.
  if (isNotLeader(error)) {
    return new NotLeaderError(hintOf(error.leader), undefined, { notApplied: true });
  }
  if (error instanceof ProposalDroppedError) {
    return new ClusterUnavailableError(`the proposal was dropped (${error.message}); retry`);
  }
  if (error instanceof HostError) {
    switch (error.code) {
      case "PROPOSAL_LOST":
        // Another entry was committed in its slot: this one was not, and will never be, applied.
        return new NotLeaderError(hintOf(null), `${error.message}; retry on the leader`, {
          notApplied: true,
        });
      case "READ_DROPPED":
        return new NotLeaderError(hintOf(null), `${error.message}; retry on the leader`);
      case "OVERLOADED":
        return new OverloadedError(error.message, 50);
      case "UNHEALTHY":
        // This node cannot write (its disk is full or failing): the client must go to another
        // node, not wait here. NOT_LEADER without a hint moves it to the next endpoint.
        return new NotLeaderError(null, `${error.message}; retry on another node`);
      case "OUTCOME_UNKNOWN":
      case "STOPPED":
      case "TRANSFER_FAILED":
        // Every request is safe to repeat, so "unknown" is answered as "retry elsewhere".
        return new ClusterUnavailableError(`${error.message}; retry`, { cause: error });
      default:
        return new InternalError(error.message, { cause: error });
    }
  }
  return new InternalError(error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

/**
 * `error` as the answer to a request whose entry is already in the log (a waiter: its acquire was
 * applied as queued). Whatever failed since (a keepalive or the cancel at the end of its wait,
 * refused before proposing) cannot undo that entry: the answer must not say notApplied.
 */
export function failureAfterApplied(error: DlockError): DlockError {
  if (!(error instanceof NotLeaderError) || !error.notApplied) return error;
  return new NotLeaderError(error.leaderHint, error.message);
}

/** A command the table refused, before proposing (validate) or when applied (rejected result). */
export function lockRefusalToWire(refusal: LockError | RejectedResult, key: string): DlockError {
  switch (refusal.code) {
    case "INVALID_ARGUMENT":
      return new InvalidArgumentError(refusal.field ?? "request", refusal.message);
    case "NOT_OWNER":
      return new NotOwnerError(refusal.message);
    case "LOCK_BUSY":
      return new LockBusyError(key, refusal.message);
    case "WAITERS_FULL":
      return new LockBusyError(key, `lock "${key}": ${refusal.message}`);
    case "LOCKS_FULL":
      // Not OVERLOADED: clients retry that until their deadline and then report no leader.
      return new LocksFullError(
        `${refusal.message}: release keys no longer needed, or raise --locks-max on every member`,
      );
    case "KIND_MISMATCH":
      return new KindMismatchError(key, refusal.message);
    case "SEMAPHORE_PERMITS_MISMATCH":
      return new PermitsMismatchError(key, refusal.message);
    default:
      return new InternalError(`${refusal.code}: ${refusal.message}`);
  }
}
