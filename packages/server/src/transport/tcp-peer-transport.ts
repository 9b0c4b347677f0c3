// PeerTransport over TCP: length-prefixed msgpack frames (@dlock/protocol), a hello handshake with
// protocol version, cluster id and node id, one dialed connection per peer for our messages and
// one accepted connection per peer for theirs, reconnect with backoff and jitter, bounded
// per-peer queues, and one frame per peer per event-loop turn.
import { createServer } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Server as TlsServer } from "node:tls";
import type { Server, Socket } from "node:net";
import type { Message, NodeId } from "@dlock/raft";
import { FrameEncoder } from "@dlock/protocol";
import type { DlockError } from "@dlock/protocol";
import type { HostPort } from "@dlock/protocol";
import { InboundPeerConnection } from "./inbound-peer-connection.js";
import type { InboundContext } from "./inbound-peer-connection.js";
import { boundAddress, listen } from "./listen.js";
import { LogOnce } from "./log-once.js";
import { PeerLink } from "./peer-link.js";
import type { PeerLinkContext, PeerLinkState } from "./peer-link.js";
import { resolvePeerMap, resolveTcpPeerTransportOptions } from "./peer-transport.js";
import { ConfigError } from "@dlock/protocol";
import { tlsServerOptions, validateTlsOptions } from "./tls-options.js";
import type { TlsOptions } from "./tls-options.js";
import { flushAtTurnEnd } from "./turn-end.js";
import type {
  PeerTransport,
  ResolvedTcpPeerTransportOptions,
  TcpPeerTransportOptions,
} from "./peer-transport.js";

export interface PeerLinkStats {
  state: PeerLinkState;
  address: HostPort;
  queuedMessages: number;
  /** Bytes held for the peer: its queue and what its socket has not sent yet. */
  queuedBytes: number;
  droppedMessages: number;
  /** True while an accepted connection from this peer is open. */
  inboundConnected: boolean;
}

export class TcpPeerTransport implements PeerTransport {
  private readonly options: ResolvedTcpPeerTransportOptions;
  private readonly encoder: FrameEncoder;
  private readonly logOnce = new LogOnce();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly dirtyLinks = new Set<PeerLink>();
  private readonly inbound = new Set<InboundPeerConnection>();
  private readonly inboundByPeer = new Map<NodeId, InboundPeerConnection>();
  private readonly server: Server;
  private handler: ((message: Message) => void) | null = null;
  private flushScheduled = false;
  private state: "new" | "started" | "stopped" = "new";
  private unknownPeerDrops = 0;
  private readonly linkContext: PeerLinkContext;
  private readonly inboundContext: InboundContext;
  private readonly flushBound = () => this.flushAll();
  /** Client addresses the peers advertised in their hellos, for leader redirects. */
  private readonly peerClientAddresses = new Map<NodeId, string>();
  /** Former members whose connections we accept without dialing them (setFormerPeers). */
  private formerPeers: ReadonlySet<NodeId> = new Set();
  /** Who may connect to us: peers, and former members. */
  private readonly acceptedPeers = {
    has: (id: NodeId): boolean => this.links.has(id) || this.formerPeers.has(id),
  };

  constructor(options: TcpPeerTransportOptions) {
    this.options = resolveTcpPeerTransportOptions(options);
    this.encoder = new FrameEncoder(this.options.frameBytesMax);
    this.linkContext = {
      options: this.options,
      encoder: this.encoder,
      logOnce: this.logOnce,
      onPeerClientAddress: (id, address) => this.peerClientAddresses.set(id, address),
    };
    this.inboundContext = {
      options: this.options,
      encoder: this.encoder,
      knownPeers: () => this.acceptedPeers,
      onIdentified: (connection) => this.onInboundIdentified(connection),
      deliver: (message) => this.deliver(message),
      onRejected: (connection, error) => this.onInboundRejected(connection, error),
      onClosed: (connection) => this.onInboundClosed(connection),
    };
    for (const [id, address] of this.options.peers)
      this.links.set(id, new PeerLink(id, address, this.linkContext));
    const onConnection = (socket: Socket) => this.onConnection(socket);
    if (this.options.tls === null) this.server = createServer(onConnection);
    else {
      const tlsServer = createTlsServer(tlsServerOptions(this.options.tls), onConnection);
      // A failed TLS handshake (no or foreign certificate, plain TCP) never reaches the hello.
      tlsServer.on("tlsClientError", (error, socket) => {
        this.options.metrics.inboundRejected("TLS_HANDSHAKE_FAILED");
        const subject = `inbound:${socket.remoteAddress ?? "unknown"}`;
        if (this.logOnce.first(subject, "TLS_HANDSHAKE_FAILED")) {
          this.options.logger.warn(
            {
              remoteAddress: socket.remoteAddress,
              code: "TLS_HANDSHAKE_FAILED",
              reason: error.message,
            },
            "refused a peer connection",
          );
        }
      });
      this.server = tlsServer;
    }
    this.server.on("error", (error) => {
      this.options.logger.error({ err: error }, "peer listener error");
    });
  }

  async start(): Promise<void> {
    if (this.state !== "new")
      throw new Error(`peer transport cannot start from state ${this.state}`);
    await listen(this.server, this.options.listen);
    this.state = "started";
    for (const link of this.links.values()) link.start();
  }

  send(messages: readonly Message[]): void {
    if (this.state === "stopped") return;
    for (const message of messages) {
      const link = this.links.get(message.to);
      if (link === undefined) {
        // Raft only addresses members; this is a message to a peer just removed, or to ourselves.
        this.unknownPeerDrops++;
        continue;
      }
      link.enqueue(message);
      this.dirtyLinks.add(link);
    }
    if (!this.flushScheduled && this.dirtyLinks.size > 0) {
      this.flushScheduled = true;
      // Everything sent during this turn of the event loop goes out together, one frame per peer.
      flushAtTurnEnd(this.flushBound);
    }
  }

  onMessage(handler: (message: Message) => void): () => void {
    this.handler = handler;
    return () => {
      if (this.handler === handler) this.handler = null;
    };
  }

  /**
   * Replaces the peer map (membership change). New peers are dialed, removed peers' connections
   * and queues are dropped, changed addresses are redialed. This node's own id is ignored.
   */
  setPeers(peers: Record<NodeId, string | HostPort>): void {
    if (this.state === "stopped") return;
    const next = resolvePeerMap(this.options.nodeId, peers);
    for (const [id, link] of this.links) {
      if (next.has(id)) continue;
      link.stop();
      this.links.delete(id);
      this.dirtyLinks.delete(link);
      this.inboundByPeer.get(id)?.close();
    }
    for (const [id, address] of next) {
      const link = this.links.get(id);
      if (link !== undefined) {
        link.setAddress(address);
        continue;
      }
      const created = new PeerLink(id, address, this.linkContext);
      this.links.set(id, created);
      if (this.state === "started") created.start();
    }
  }

  /**
   * Removed members whose connections are accepted (we do not dial them). A removed voter that
   * missed its removal campaigns; its vote requests must reach a leader that can tell it the
   * removal committed (that leader then dials it: setPeers). Peers are accepted regardless.
   */
  setFormerPeers(ids: readonly NodeId[]): void {
    this.formerPeers = new Set(ids);
  }

  /**
   * Replaces this node's key, certificate and CA (certificate rotation): new peer connections,
   * accepted and dialed, use them; open ones keep theirs. Throws ConfigError, leaving the old
   * ones in place, when the new ones do not load or the transport runs without TLS.
   */
  setTls(tls: TlsOptions): void {
    if (this.options.tls === null) {
      throw new ConfigError("tls", "the peer transport runs without TLS; restart to turn it on");
    }
    validateTlsOptions(tls, "tls", true);
    (this.server as TlsServer).setSecureContext(tlsServerOptions(tls));
    this.options.tls = tls;
  }

  /** The client address `id` advertised in its last hello, or null if it never sent one. */
  clientAddressOf(id: NodeId): string | null {
    return this.peerClientAddresses.get(id) ?? null;
  }

  /** The bound listen address (useful with port 0). */
  address(): HostPort {
    return boundAddress(this.server, "peer transport");
  }

  /** Per-peer connection and queue figures, for /status and tests. */
  stats(): Record<NodeId, PeerLinkStats> {
    const out: Record<NodeId, PeerLinkStats> = {};
    for (const [id, link] of this.links) {
      out[id] = {
        state: link.currentState,
        address: link.currentAddress,
        queuedMessages: link.queuedMessages,
        queuedBytes: link.queuedBytes,
        droppedMessages: link.droppedMessages,
        inboundConnected: this.inboundByPeer.has(id),
      };
    }
    return out;
  }

  /** Messages addressed to ids that are not peers (dropped), since start. */
  get unknownPeerDroppedMessages(): number {
    return this.unknownPeerDrops;
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const wasStarted = this.state === "started";
    this.state = "stopped";
    for (const link of this.links.values()) link.stop();
    this.dirtyLinks.clear();
    for (const connection of this.inbound) connection.close();
    this.inbound.clear();
    this.inboundByPeer.clear();
    if (wasStarted) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private flushAll(): void {
    this.flushScheduled = false;
    for (const link of this.dirtyLinks) link.flush();
    this.dirtyLinks.clear();
  }

  private deliver(message: Message): void {
    const handler = this.handler;
    if (handler === null) return;
    try {
      handler(message);
    } catch (error) {
      // A bug in the receiver must not be blamed on the peer (closing its connection) or crash us.
      this.options.logger.error(
        { err: error, from: message.from, type: message.type },
        "raft message handler threw",
      );
    }
  }

  private onConnection(socket: Socket): void {
    if (this.state !== "started" || this.inbound.size >= this.options.inboundConnectionsMax) {
      this.options.metrics.inboundRejected("TOO_MANY_CONNECTIONS");
      socket.destroy();
      return;
    }
    this.inbound.add(new InboundPeerConnection(socket, this.inboundContext));
  }

  private onInboundIdentified(connection: InboundPeerConnection): void {
    const id = connection.remoteNodeId as NodeId;
    if (connection.remoteClientAddress !== null) {
      this.peerClientAddresses.set(id, connection.remoteClientAddress);
    }
    const previous = this.inboundByPeer.get(id);
    // The peer redialed (it restarted, or its old connection died without our noticing): the
    // older connection is stale.
    if (previous !== undefined && previous !== connection) previous.close();
    this.inboundByPeer.set(id, connection);
    this.logOnce.forget(`inbound:${id}`);
    this.links.get(id)?.redialNow();
  }

  private onInboundRejected(connection: InboundPeerConnection, error: DlockError): void {
    this.options.metrics.inboundRejected(error.code);
    const subject = `inbound:${connection.remoteNodeId ?? connection.socket.remoteAddress ?? "unknown"}`;
    if (this.logOnce.first(subject, error.code)) {
      this.options.logger.warn(
        {
          peer: connection.remoteNodeId,
          remoteAddress: connection.socket.remoteAddress,
          code: error.code,
          reason: error.message,
        },
        "refused a peer connection",
      );
    }
  }

  private onInboundClosed(connection: InboundPeerConnection): void {
    this.inbound.delete(connection);
    const id = connection.remoteNodeId;
    if (id !== null && this.inboundByPeer.get(id) === connection) this.inboundByPeer.delete(id);
  }
}
