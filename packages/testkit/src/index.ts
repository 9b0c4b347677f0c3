// @dlock/testkit: what other packages (chaos) use: the one lock history format (beliefs, resource
// writes, wire-level operations), the checkers over it (mutual exclusion, fencing order,
// linearizability with the lock model), the fenced resource, and the seeded random source. The simulator
// itself runs through its CLI (sim-cli.ts); its parts are in @dlock/testkit/internal for tests
// and tools.
export { Prng } from "./prng.js";
export { FencedResource } from "./lock/fenced-resource.js";
export { wireOpOf } from "./lock/lock-history.js";
export { beliefOverlaps } from "./checkers/lock/mutual-exclusion.js";
export { tokenRegressions } from "./checkers/lock/fencing.js";
export { checkLinearizable, describeViolation } from "./checkers/lock/linearizability.js";
export {
  describeTokenOrderConflict,
  lockModel,
  lockOpOf,
  tokenOrderConflict,
} from "./checkers/lock/lock-model.js";
export type { Belief, ResourceWrite, WireOp } from "./lock/lock-history.js";
export type {
  LinearizabilityOptions,
  LinearizabilityResult,
  SequentialModel,
  TimedOp,
} from "./checkers/lock/linearizability.js";
export type { LockModelState, LockOp } from "./checkers/lock/lock-model.js";
