import type { NodeId } from "./types.js";

/** Stable codes of the errors the core raises for conditions a caller can cause. */
export type RaftErrorCode =
  | "NOT_LEADER"
  | "PROPOSAL_DROPPED"
  | "CONF_CHANGE_IN_PROGRESS"
  | "TRANSFER_IN_PROGRESS"
  | "INVALID_CONFIG"
  | "COMPACTED"
  | "UNAVAILABLE"
  | "INVALID_CONF_CHANGE"
  /** transferLeadership() to a node that is not a voter. */
  | "INVALID_TRANSFER";

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  /** NOT_LEADER: the leader this node knows of, as a hint (null if unknown); else null. */
  readonly leader: NodeId | null;
  constructor(
    code: RaftErrorCode,
    message: string,
    options?: { cause?: unknown; leader?: NodeId | null },
  ) {
    super(message, options);
    this.name = "RaftError";
    this.code = code;
    this.leader = options?.leader ?? null;
  }
}

/**
 * Proposal or read sent to a node that is not the leader. A RaftError with code NOT_LEADER, not a
 * class of its own: the one NotLeaderError is the wire error of @dlock/protocol, which the server
 * makes of this one (adding the leader's client address).
 */
export function notLeaderError(leader: NodeId | null): RaftError {
  const hint = leader === null ? "; leader unknown" : `; the leader is ${leader}`;
  return new RaftError("NOT_LEADER", `not the leader${hint}`, { leader });
}

/** Whether `error` is the core's refusal on a node that is not the leader. */
export function isNotLeader(error: unknown): error is RaftError {
  return error instanceof RaftError && error.code === "NOT_LEADER";
}

/** The proposal was refused (uncommitted log over its limit, or a transfer under way): back off and retry. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super("PROPOSAL_DROPPED", `proposal dropped: ${reason}`);
    this.name = "ProposalDroppedError";
  }
}

/** Storage was asked for entries already compacted into a snapshot. */
export class CompactedError extends RaftError {
  constructor(index: number, firstIndex: number) {
    super("COMPACTED", `entry ${index} is compacted (first available is ${firstIndex})`);
    this.name = "CompactedError";
  }
}

/** Storage was asked for entries past its last index. */
export class UnavailableError extends RaftError {
  constructor(index: number, lastIndex: number) {
    super("UNAVAILABLE", `entry ${index} is not available (last index is ${lastIndex})`);
    this.name = "UnavailableError";
  }
}
