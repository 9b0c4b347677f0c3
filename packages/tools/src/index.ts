// @dlock/tools: what runs real dlock clusters on one machine for people and tests (`pnpm start`,
// `pnpm bench`, the soak and measurement scripts, the real-process tests, chaos and fuzz). Not
// shipped: @dlock/cli carries only the `dlock` command.
export {
  DLOCK_BIN,
  LocalCluster,
  LocalClusterError,
  freePort,
  freePorts,
  reservePorts,
  tlsArgs,
} from "./local-cluster.js";
export type {
  LocalClusterOptions,
  LocalNode,
  LocalNodePorts,
  LocalNodeStatus,
} from "./local-cluster.js";
export { makeDevCertificates } from "./dev-certs.js";
export type { DevCertFiles, DevCertsRequest } from "./dev-certs.js";
export {
  SECURE_LOCAL_PRINCIPALS,
  prepareSecureLocal,
  secureLocalClientEnv,
  secureLocalClusterOptions,
  secureLocalUsageLines,
} from "./secure-local.js";
export type { SecureLocalFiles } from "./secure-local.js";
export { folderBytes } from "./ops/disk-usage.js";
export { runRefreshLoad } from "./ops/refresh-load.js";
export type { RefreshLoadOptions, RefreshLoadResult } from "./ops/refresh-load.js";
export { CATCH_UP_ROUND_DEFAULTS, formatRound, runCatchUpRounds } from "./catchup-rounds.js";
export type { CatchUpReport, CatchUpRound, CatchUpRoundsOptions } from "./catchup-rounds.js";
export {
  CATCH_UP_SENT_PER_LACKED_MAX,
  CATCH_UP_SENT_SLACK_BYTES,
  NODE_RSS_BYTES_MAX,
  checkCatchUpBounds,
} from "./catchup-bounds.js";
