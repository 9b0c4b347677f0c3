export { connectPlain, connectTls } from "./connection.js";
export type { Connect } from "./connection.js";
export { FuzzCluster, CLUSTER_ID, PHANTOM_ID, isCrashLine } from "./fuzz-cluster.js";
export { FUZZ_DEFAULTS } from "./fuzz-options.js";
export { fuzzPorts } from "./fuzz-ports.js";
export type { FuzzPortsOptions } from "./fuzz-ports.js";
export {
  adminPortFuzzer,
  clientPortFuzzer,
  peerPortFuzzer,
  PLAIN_CONNECTORS,
  PORT_NAMES,
} from "./ports.js";
export type { Connectors, PortName } from "./ports.js";
export { runPort } from "./run-fuzz.js";
export type { PortRunSummary } from "./run-fuzz.js";
export { formatPortSummary } from "./summary-format.js";
