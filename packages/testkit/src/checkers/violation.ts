/** Names of the properties the simulator checks. */
export type PropertyName =
  | "electionSafety"
  | "logMatching"
  | "leaderCompleteness"
  | "stateMachineSafety"
  | "commitDurability"
  | "linearizableRead"
  | "liveness"
  /** The core threw, or broke its own contract with the host (a bug either way). */
  | "coreContract"
  // Lock-level properties (the lock simulator, lock/):
  /** Two clients believed they held a key at once, in true time. */
  | "mutualExclusion"
  /** Tokens did not increase, or the fenced resource saw a stale holder after a later one. */
  | "fencing"
  /** The per-key history of acquire/refresh/release/get has no linearization. */
  | "linearizability"
  /** An acknowledged acquire, refresh or release is not in the committed history. */
  | "acknowledgement"
  /** After faults stopped, a request hung or a key could not be taken within the bound. */
  | "lockLiveness"
  /** The request path or the client failed with an untyped error. */
  | "lockContract"
  /** More permits of a semaphore were believed held at one instant than it has, in true time. */
  | "semaphoreCapacity"
  /** A reader-writer key's writer overlapped another holder, or its fencing went backwards. */
  | "readerWriterExclusion"
  /**
   * Two campaigners led one election at once (in true time), leadership tokens did not grow, or an
   * observer repeated, reordered or skipped a leader.
   */
  | "electionLeadership";

/** A property of Raft was broken. Carries enough to understand the run without re-running it. */
export class SafetyViolation extends Error {
  readonly code = "SAFETY_VIOLATION";
  readonly property: PropertyName;
  /** Virtual time of detection, when known. */
  timeMs: number | undefined;

  constructor(property: PropertyName, message: string, options?: { cause?: unknown }) {
    super(`${property}: ${message}`, options);
    this.name = "SafetyViolation";
    this.property = property;
    this.timeMs = undefined;
  }
}

/** A node's log as a checker sees it: chain hashes (see log-chain.ts) by index. */
export interface LogView {
  /** Chain at `index`; the snapshot's chain at the snapshot index; undefined if not held. */
  chainAt(index: number): number | undefined;
  snapshotIndex(): number;
}
