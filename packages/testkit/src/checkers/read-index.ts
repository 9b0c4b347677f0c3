import { SafetyViolation } from "./violation.js";

/**
 * ReadIndex linearizability: a read started after an entry was reported committed must be served
 * at an index at or past it (the leader confirms its commit index with a heartbeat quorum before
 * answering, Raft thesis §6.4). The checker remembers the highest committed index at the moment
 * each read starts and compares the index the core answers with.
 */
export class ReadIndexChecker {
  private readonly required = new Map<number, number>();
  private served = 0;

  /** Read `requestId` starts while entries through `committedIndex` are known committed. */
  observeReadStarted(requestId: number, committedIndex: number): void {
    this.required.set(requestId, committedIndex);
  }

  /** `node` answers read `requestId` at `index`. */
  observeReadState(node: string, requestId: number, index: number): void {
    const required = this.required.get(requestId);
    if (required === undefined) {
      throw new SafetyViolation("coreContract", `${node} answered read ${requestId}, never asked`);
    }
    this.required.delete(requestId);
    this.served++;
    if (index < required) {
      throw new SafetyViolation(
        "linearizableRead",
        `${node} served read ${requestId} at index ${index}, but index ${required} was ` +
          `committed before the read started`,
      );
    }
  }

  /** `node` gave up on read `requestId` (leadership lost): nothing was served. */
  observeReadDropped(requestId: number): void {
    this.required.delete(requestId);
  }

  get readsServed(): number {
    return this.served;
  }
}
