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
  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RaftError";
    this.code = code;
  }
}

/** Proposal or read sent to a node that is not the leader; `leader` is a hint (null if unknown). */
export class NotLeaderError extends RaftError {
  readonly leader: NodeId | null;
  constructor(leader: NodeId | null) {
    super(
      "NOT_LEADER",
      `not the leader${leader ? `; the leader is ${leader}` : "; leader unknown"}`,
    );
    this.name = "NotLeaderError";
    this.leader = leader;
  }
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
