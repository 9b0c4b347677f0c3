export {
  AdminServer,
  DEFAULT_ADMIN_HOST,
  DEFAULT_ADMIN_PORT,
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  resolveAdminServerOptions,
} from "./admin-server.js";
export {
  DEFAULT_ADMIN_CONNECTIONS_MAX,
  DEFAULT_ADMIN_REQUESTS_MAX,
  METRICS_RENDER_INTERVAL_MS,
} from "./admin-limits.js";
export { EventLoopLag } from "./event-loop-lag.js";
export type { EventLoopLagSnapshot } from "./event-loop-lag.js";
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
