export { createProgram, runCli, CLI_VERSION } from "./program.js";
export { CliExit, EXIT } from "./exit-codes.js";
export type { ExitCode } from "./exit-codes.js";
export { parseClusterList, parseEndpointList } from "./parse.js";
export {
  DLOCK_BIN,
  LocalCluster,
  LocalClusterError,
  freePort,
  freePorts,
  reservePorts,
} from "./local-cluster.js";
export type {
  LocalClusterOptions,
  LocalNode,
  LocalNodePorts,
  LocalNodeStatus,
} from "./local-cluster.js";
export { writeDevCertificates } from "./certs/dev-certificates.js";
export type { DevCertificateFiles } from "./certs/dev-certificates.js";
