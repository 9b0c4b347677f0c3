import type { NodeId } from "@dlock/raft";

/** Counters the peer transport reports; admin's ServerMetrics implements it for Prometheus. */
export interface PeerTransportMetrics {
  /** Raft messages dropped because the peer's send queue was full (oldest first). */
  messagesDropped(peer: NodeId, count: number): void;
  /** The link to `peer` was dropped because more than sendQueueBytesMax was held for it. */
  sendQueueOverflow(peer: NodeId): void;
  /** One frame written to a peer, carrying `messageCount` Raft messages in `bytes` bytes. */
  frameSent(peer: NodeId, messageCount: number, bytes: number): void;
  /** The outbound connection to `peer` completed its handshake (true) or closed (false). */
  peerConnection(peer: NodeId, connected: boolean): void;
  /** An inbound connection was refused or closed for bad input; `reason` is an error code. */
  inboundRejected(reason: string): void;
}

export const NOOP_PEER_TRANSPORT_METRICS: PeerTransportMetrics = {
  messagesDropped() {},
  sendQueueOverflow() {},
  frameSent() {},
  peerConnection() {},
  inboundRejected() {},
};
