import { CodedError } from "@dlock/protocol";

/** Stable codes of the errors RaftHost raises (the core's own errors pass through unchanged). */
export type HostErrorCode =
  /** Another entry was committed (applied) in the proposal's log slot: it was NOT applied. */
  | "PROPOSAL_LOST"
  /** The proposal may or may not have been applied (host stopped, or a snapshot skipped it). */
  | "OUTCOME_UNKNOWN"
  /** Too many proposals or reads waiting; back off and retry. */
  | "OVERLOADED"
  /** A ReadIndex request could not complete here (leadership lost); retry on the leader. */
  | "READ_DROPPED"
  /** Leadership transfer had no target or did not finish in time. */
  | "TRANSFER_FAILED"
  /** The host's storage failed; it takes no more writes. */
  | "UNHEALTHY"
  /** The host is stopped. */
  | "STOPPED";

export class HostError extends CodedError<HostErrorCode> {
  constructor(code: HostErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "HostError";
  }
}
