// The contract between the Raft host and whatever carries Raft messages between nodes. The host
// accepts it structurally, so tests and the simulator can plug in their own.
import type { Message, NodeId } from "@dlock/raft";
import {
  ConfigError,
  FRAME_BYTES_MAX,
  nodeIdentityOptions,
  parseHostPort,
  positiveInteger,
} from "@dlock/protocol";
import type { HostPort } from "@dlock/protocol";
import { SILENT_LOGGER } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import { NOOP_PEER_TRANSPORT_METRICS } from "./transport-metrics.js";
import type { PeerTransportMetrics } from "./transport-metrics.js";
import { validateTlsOptions } from "./tls-options.js";
import type { TlsOptions } from "./tls-options.js";

export interface PeerTransport {
  /** Starts listening for peers and dialing them. Resolves once the listener is bound. */
  start(): Promise<void>;
  /**
   * Queues messages for their `to` peers and returns at once. Delivery is best effort: messages
   * may be dropped (full queue, broken connection, unknown peer), as Raft tolerates.
   */
  send(messages: readonly Message[]): void;
  /**
   * Sets the single receiver of messages from peers (replaces any earlier one). Returns a function
   * that unregisters it (if it is still the current one).
   */
  onMessage(handler: (message: Message) => void): () => void;
  /** Closes the listener and every connection; queued messages are discarded. */
  stop(): Promise<void>;
}

/** Messages queued per peer while its connection is down or backed up; the oldest drop first. */
export const DEFAULT_SEND_QUEUE_MESSAGES_MAX = 4_096;
/**
 * Bytes held for one peer (its send queue plus what its socket has not sent yet). A connected peer
 * that stops reading makes us cross it: the link is dropped with its queue, and Raft retransmits
 * once it reads again. Above the leader's in-flight window (32 MiB) so normal bursts never do.
 */
export const DEFAULT_SEND_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Bytes a socket may hold unsent before we stop writing to it and let the queue absorb. */
export const DEFAULT_SOCKET_WRITABLE_BYTES_MAX = 8 * 1024 * 1024;
export const DEFAULT_RECONNECT_DELAY_MS_MIN = 50;
export const DEFAULT_RECONNECT_DELAY_MS_MAX = 2_000;
/** Time allowed for a connect plus hello exchange, both directions. */
export const DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS = 3_000;
/**
 * A socket whose buffered bytes do not drain for this long is presumed dead (a peer paused or a
 * path black-holed without a reset) and is redialed.
 */
export const DEFAULT_WRITE_STALL_TIMEOUT_MS = 10_000;
/** Inbound connections accepted at once; beyond it new ones are closed (garbage floods). */
export const DEFAULT_INBOUND_CONNECTIONS_MAX = 64;

/** Who may come back with another data folder (see node/peer-data-ids.ts). */
export interface PeerDataCheck {
  /** This node's data folder id, sent in its hello. */
  readonly dataId: string;
  /** Throws HandshakeFailedError ("dataReplaced") to refuse `nodeId`; null: it sent no id. */
  admit(nodeId: NodeId, dataId: string | null): void;
}

export interface TcpPeerTransportOptions {
  nodeId: NodeId;
  clusterId: string;
  /** Where to accept peer connections. Port 0 picks a free port (see address()). */
  listen: string | HostPort;
  /** This node's client address, sent in its hello so peers can redirect clients here. */
  advertisedClientAddress?: string | null;
  /** Every other member's peer address ("host:port"). This node's own id is ignored if present. */
  peers: Record<NodeId, string | HostPort>;
  /** Default FRAME_BYTES_MAX of @dlock/protocol; every peer must use the same or a larger one. */
  frameBytesMax?: number;
  sendQueueMessagesMax?: number;
  sendQueueBytesMax?: number;
  socketWritableBytesMax?: number;
  reconnectDelayMsMin?: number;
  reconnectDelayMsMax?: number;
  handshakeTimeoutMs?: number;
  writeStallTimeoutMs?: number;
  inboundConnectionsMax?: number;
  /** Mutual TLS on the peer port and links (key, cert and the cluster CA). Default: plain TCP. */
  tls?: TlsOptions;
  /** Jitter source, [0, 1). Default Math.random. */
  random?: () => number;
  logger?: Logger;
  metrics?: PeerTransportMetrics;
  /** Sends this node's data folder id and checks the peers'. Default: neither. */
  dataCheck?: PeerDataCheck;
}

export interface ResolvedTcpPeerTransportOptions {
  nodeId: NodeId;
  clusterId: string;
  listen: HostPort;
  advertisedClientAddress: string | null;
  peers: Map<NodeId, HostPort>;
  frameBytesMax: number;
  sendQueueMessagesMax: number;
  sendQueueBytesMax: number;
  socketWritableBytesMax: number;
  reconnectDelayMsMin: number;
  reconnectDelayMsMax: number;
  handshakeTimeoutMs: number;
  writeStallTimeoutMs: number;
  inboundConnectionsMax: number;
  tls: TlsOptions | null;
  random: () => number;
  logger: Logger;
  metrics: PeerTransportMetrics;
  dataCheck: PeerDataCheck | null;
}

function toHostPort(address: string | HostPort, option: string, portZero: boolean): HostPort {
  return parseHostPort(address, option, { portZero });
}

/** Resolves peer addresses, dropping this node's own id. */
export function resolvePeerMap(
  nodeId: NodeId,
  peers: Record<NodeId, string | HostPort>,
): Map<NodeId, HostPort> {
  const map = new Map<NodeId, HostPort>();
  for (const [id, address] of Object.entries(peers)) {
    if (id.length === 0) throw new ConfigError("peers", "peer ids must not be empty");
    if (id === nodeId) continue;
    map.set(id, toHostPort(address, `peers.${id}`, false));
  }
  return map;
}

export function resolveTcpPeerTransportOptions(
  options: TcpPeerTransportOptions,
): ResolvedTcpPeerTransportOptions {
  const { nodeId, clusterId } = nodeIdentityOptions(options);
  const reconnectDelayMsMin = positiveInteger(
    options.reconnectDelayMsMin,
    DEFAULT_RECONNECT_DELAY_MS_MIN,
    "reconnectDelayMsMin",
  );
  const reconnectDelayMsMax = positiveInteger(
    options.reconnectDelayMsMax,
    DEFAULT_RECONNECT_DELAY_MS_MAX,
    "reconnectDelayMsMax",
  );
  if (reconnectDelayMsMax < reconnectDelayMsMin) {
    throw new ConfigError("reconnectDelayMsMax", "must be ≥ reconnectDelayMsMin");
  }
  return {
    nodeId,
    clusterId,
    listen: toHostPort(options.listen, "listen", true),
    advertisedClientAddress: options.advertisedClientAddress ?? null,
    peers: resolvePeerMap(nodeId, options.peers),
    frameBytesMax: positiveInteger(options.frameBytesMax, FRAME_BYTES_MAX, "frameBytesMax"),
    sendQueueMessagesMax: positiveInteger(
      options.sendQueueMessagesMax,
      DEFAULT_SEND_QUEUE_MESSAGES_MAX,
      "sendQueueMessagesMax",
    ),
    sendQueueBytesMax: positiveInteger(
      options.sendQueueBytesMax,
      DEFAULT_SEND_QUEUE_BYTES_MAX,
      "sendQueueBytesMax",
    ),
    socketWritableBytesMax: positiveInteger(
      options.socketWritableBytesMax,
      DEFAULT_SOCKET_WRITABLE_BYTES_MAX,
      "socketWritableBytesMax",
    ),
    reconnectDelayMsMin,
    reconnectDelayMsMax,
    handshakeTimeoutMs: positiveInteger(
      options.handshakeTimeoutMs,
      DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS,
      "handshakeTimeoutMs",
    ),
    writeStallTimeoutMs: positiveInteger(
      options.writeStallTimeoutMs,
      DEFAULT_WRITE_STALL_TIMEOUT_MS,
      "writeStallTimeoutMs",
    ),
    inboundConnectionsMax: positiveInteger(
      options.inboundConnectionsMax,
      DEFAULT_INBOUND_CONNECTIONS_MAX,
      "inboundConnectionsMax",
    ),
    tls: options.tls === undefined ? null : validateTlsOptions(options.tls, "tls", true),
    random: options.random ?? Math.random,
    logger: options.logger ?? SILENT_LOGGER,
    metrics: options.metrics ?? NOOP_PEER_TRANSPORT_METRICS,
    dataCheck: options.dataCheck ?? null,
  };
}
