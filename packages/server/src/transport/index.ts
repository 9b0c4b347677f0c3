export { TcpPeerTransport } from "./tcp-peer-transport.js";
export {
  DEFAULT_INBOUND_CONNECTIONS_MAX,
  DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_RECONNECT_DELAY_MS_MAX,
  DEFAULT_RECONNECT_DELAY_MS_MIN,
  DEFAULT_SEND_QUEUE_MESSAGES_MAX,
  DEFAULT_SOCKET_WRITABLE_BYTES_MAX,
  DEFAULT_WRITE_STALL_TIMEOUT_MS,
  resolveTcpPeerTransportOptions,
} from "./peer-transport.js";
export { backoffDelayMs } from "./backoff.js";
export { validateRaftMessage } from "./raft-message-validation.js";
export { NOOP_PEER_TRANSPORT_METRICS } from "./transport-metrics.js";
export { CLIENT_CERTIFICATE_MODES, validateTlsOptions } from "./tls-options.js";
export {
  CLIENT_URI_PREFIX,
  NODE_URI_PREFIX,
  clientNameFromCertificate,
  nodeIdFromCertificate,
} from "./peer-certificate.js";
export type {
  PeerTransport,
  ResolvedTcpPeerTransportOptions,
  TcpPeerTransportOptions,
} from "./peer-transport.js";
export type { PeerLinkStats } from "./tcp-peer-transport.js";
export type { PeerLinkState } from "./peer-link.js";
export type { BackoffOptions } from "./backoff.js";
export type { PeerTransportMetrics } from "./transport-metrics.js";
export type { ClientCertificateMode, TlsOptions } from "./tls-options.js";
