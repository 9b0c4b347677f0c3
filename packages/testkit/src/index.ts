// @dlock/testkit: what other packages (chaos) use: the one lock history format (beliefs, resource
// writes, wire-level operations, election observations), the checkers over it (mutual exclusion,
// fencing order, semaphore capacity, reader-writer exclusion, election leadership, linearizability with the lock model), the fenced resource, and the seeded random source. The simulator
// itself runs through its CLI (sim-cli.ts); its parts are in @dlock/testkit/internal for tests
// and tools.
export { Prng } from "./prng.js";
export { FencedResource } from "./lock/fenced-resource.js";
export { wireOpOf } from "./lock/lock-history.js";
export { beliefOverlaps } from "./checkers/lock/mutual-exclusion.js";
export { tokenRegressions } from "./checkers/lock/fencing.js";
export { checkSemaphoreCapacity } from "./checkers/lock/semaphore-capacity.js";
export { checkReaderWriterExclusion } from "./checkers/lock/reader-writer-exclusion.js";
export type { RwBelief } from "./checkers/lock/reader-writer-exclusion.js";
export { checkElectionLeadership } from "./checkers/lock/election-leadership.js";
export type { PermitBelief } from "./checkers/lock/semaphore-capacity.js";
export type { ElectionHistory } from "./checkers/lock/election-leadership.js";
export { checkLinearizable, describeViolation } from "./checkers/lock/linearizability.js";
export {
  describeTokenOrderConflict,
  lockModel,
  lockOpOf,
  tokenOrderConflict,
} from "./checkers/lock/lock-model.js";
export type {
  Belief,
  Observation,
  ObservedLeader,
  ResourceWrite,
  WireOp,
} from "./lock/lock-history.js";
export type {
  LinearizabilityOptions,
  LinearizabilityResult,
  SequentialModel,
  TimedOp,
} from "./checkers/lock/linearizability.js";
export type { LockModelState, LockOp } from "./checkers/lock/lock-model.js";
