// @dlock/testkit: what other packages (chaos) use: the linearizability checker with the lock
// model, the wire-level operation records it checks, and the seeded random source. The simulator
// itself runs through its CLI (sim-cli.ts); its parts are in @dlock/testkit/internal for tests
// and tools.
export { Prng } from "./prng.js";
export { checkLinearizable, describeViolation } from "./checkers/lock/linearizability.js";
export {
  describeTokenOrderConflict,
  lockModel,
  lockOpOf,
  tokenOrderConflict,
} from "./checkers/lock/lock-model.js";
export type { WireOp } from "./lock/lock-history.js";
export type {
  LinearizabilityOptions,
  LinearizabilityResult,
  SequentialModel,
  TimedOp,
} from "./checkers/lock/linearizability.js";
export type { LockModelState, LockOp } from "./checkers/lock/lock-model.js";
