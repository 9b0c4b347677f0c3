export { ClientServer } from "./client-server.js";
export {
  CONNECTIONS_PER_SOURCE_IN_RESERVE,
  CONNECTIONS_RESERVED_FRACTION,
  DEFAULT_CLIENT_CONNECTIONS_MAX,
  DEFAULT_CLIENT_CONNECTIONS_PER_SOURCE_MAX,
  DEFAULT_CLIENT_REPLY_BACKLOG_BYTES_MAX,
  DEFAULT_CLIENT_STUCK_TIMEOUT_MS,
  DEFAULT_CONNECTION_FRAMES_PER_TURN,
  DEFAULT_CONNECTION_REQUEST_BURST,
  DEFAULT_CONNECTION_REQUESTS_PER_SECOND,
  DEFAULT_SERVER_REPLY_BACKLOG_BYTES_MAX,
  DEFAULT_CLIENT_FRAME_BYTES_MAX,
  DEFAULT_CLIENT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
  DEFAULT_CLIENT_SOCKET_WRITABLE_BYTES_MAX,
  DEFAULT_CONNECTION_IN_FLIGHT_REQUESTS_MAX,
  DEFAULT_RETRY_AFTER_MS,
  DEFAULT_SERVER_IN_FLIGHT_REQUESTS_MAX,
  DEFAULT_STOP_DRAIN_TIMEOUT_MS,
  DEFAULT_DURATION_LIMITS,
  resolveClientServerOptions,
} from "./client-server-options.js";
export { NOOP_CLIENT_SERVER_METRICS } from "./client-server-metrics.js";
export type {
  ClientServerOptions,
  DurationLimits,
  ResolvedClientServerOptions,
} from "./client-server-options.js";
export type {
  ClientRequestContext,
  ClientRequestHandler,
  ClientResult,
} from "./client-request-handler.js";
export type { ClientLimit, ClientServerMetrics } from "./client-server-metrics.js";
export type { ClientConnectionState } from "./client-connection.js";
