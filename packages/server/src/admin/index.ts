export {
  AdminOptionsError,
  AdminServer,
  DEFAULT_ADMIN_HOST,
  DEFAULT_ADMIN_PORT,
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  resolveAdminServerOptions,
} from "./admin-server.js";
export { ReadinessTracker } from "./readiness.js";
export { ServerMetrics } from "./server-metrics.js";
export type { AdminServerOptions, ResolvedAdminServerOptions } from "./admin-server.js";
export type { Readiness } from "./readiness.js";
export type { ServerMetricsOptions } from "./server-metrics.js";
export type {
  AdminStatusProvider,
  NodeMemberStatus,
  NodeStatusSnapshot,
  RaftLogStatus,
} from "./status-provider.js";
