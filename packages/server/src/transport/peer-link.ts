// The outbound half of the peer transport: one dialed connection to one peer, which this node only
// writes Raft messages to (the peer's own outbound connection carries its messages back). Keeping
// each direction on its own connection makes a one-way network cut behave as one (Raft's view) and
// keeps the two ends from racing over which of two simultaneous dials survives.
//
// States: idle (waiting to dial) → connecting (TCP connect + hello exchange) → open → idle on any
// failure, with exponential backoff; stopped is final.
import { connect } from "node:net";
import { connect as connectTls } from "node:tls";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Message, NodeId } from "@dlock/raft";
import {
  DlockError,
  errorFromWire,
  FrameDecoder,
  HandshakeFailedError,
  MalformedFrameError,
} from "@dlock/protocol";
import type { FrameEncoder } from "@dlock/protocol";
import { backoffDelayMs } from "./backoff.js";
import { encodeRaftBatches } from "./frame-batches.js";
import { formatHostPort } from "@dlock/protocol";
import type { HostPort } from "@dlock/protocol";
import { messageBytes } from "./message-bytes.js";
import type { LogOnce } from "./log-once.js";
import { nodeIdFromCertificate } from "./peer-certificate.js";
import { checkPeerHello, peerHello } from "./peer-handshake.js";
import type { ResolvedTcpPeerTransportOptions } from "./peer-transport.js";
import { SendQueue } from "./send-queue.js";
import { dropSubsumedMessages } from "./subsumed-messages.js";
import { tlsPeerConnectOptions } from "./tls-options.js";

export type PeerLinkState = "idle" | "connecting" | "open" | "stopped";

export interface PeerLinkContext {
  options: ResolvedTcpPeerTransportOptions;
  encoder: FrameEncoder;
  logOnce: LogOnce;
  /** The peer announced its client address in its hello answer. */
  onPeerClientAddress(nodeId: NodeId, clientAddress: string): void;
}

export class PeerLink {
  readonly peerId: NodeId;
  private address: HostPort;
  private readonly context: PeerLinkContext;
  private readonly queue: SendQueue;
  private state: PeerLinkState = "idle";
  private socket: Socket | null = null;
  private decoder: FrameDecoder | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;
  private attempt = 0;
  /**
   * An overflow was logged and no connection since has shown the peer reading (its kernel took
   * more than sendQueueBytesMax: more than socket buffers hold): a repeat is counted, not logged.
   */
  private overflowing = false;
  /** The reason the current connection is failing, reported once it closes. */
  private failure: { code: string; message: string } | null = null;

  constructor(peerId: NodeId, address: HostPort, context: PeerLinkContext) {
    this.peerId = peerId;
    this.address = address;
    this.context = context;
    this.queue = new SendQueue(
      context.options.sendQueueMessagesMax,
      context.options.sendQueueBytesMax,
    );
  }

  get currentState(): PeerLinkState {
    return this.state;
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  /** Bytes held for the peer: the queue, and what the socket has not sent yet. */
  get queuedBytes(): number {
    return this.queue.bytes + (this.socket?.writableLength ?? 0);
  }

  get droppedMessages(): number {
    return this.queue.droppedTotal;
  }

  get currentAddress(): HostPort {
    return this.address;
  }

  /** Starts the first dial. */
  start(): void {
    if (this.state === "idle" && this.reconnectTimer === null && this.socket === null) this.dial();
  }

  enqueue(message: Message): void {
    if (this.state === "stopped") return;
    const dropped = this.queue.push(message, messageBytes(message));
    if (dropped > 0) this.context.options.metrics.messagesDropped(this.peerId, dropped);
    const socket = this.socket;
    // Only an open link with unsent bytes: the peer is connected but does not keep up.
    if (
      socket !== null &&
      this.state === "open" &&
      !socket.destroyed &&
      socket.writableLength > 0 &&
      this.queuedBytes > this.context.options.sendQueueBytesMax
    ) {
      this.overflow(socket);
    }
  }

  /** Writes every queued message, batched into as few frames as fit. Called once per event-loop turn. */
  flush(): void {
    const socket = this.socket;
    if (this.state !== "open" || socket === null || this.queue.length === 0 || this.waitingForDrain)
      return;
    if (socket.writableLength > this.context.options.socketWritableBytesMax) {
      this.waitForDrain(socket);
      return;
    }
    const batches = encodeRaftBatches(
      this.context.encoder,
      dropSubsumedMessages(this.queue.drain()),
      (message, error) => {
        this.context.options.metrics.messagesDropped(this.peerId, 1);
        if (this.context.logOnce.first(this.peerId, "FRAME_TOO_LARGE")) {
          this.context.options.logger.error(
            { peer: this.peerId, type: message.type, err: error },
            "raft message larger than frameBytesMax dropped; lower the snapshot chunk size",
          );
        }
      },
    );
    if (batches.length > 1) socket.cork();
    for (const batch of batches) {
      socket.write(batch.frame);
      this.context.options.metrics.frameSent(this.peerId, batch.messageCount, batch.frame.length);
    }
    if (batches.length > 1) socket.uncork();
    const { sendQueueBytesMax } = this.context.options;
    if (this.overflowing && socket.bytesWritten - socket.writableLength > sendQueueBytesMax) {
      this.overflowing = false;
    }
  }

  /**
   * The peer just dialed us, so it is up again: dial now instead of waiting out the backoff (up to
   * reconnectDelayMsMax), which otherwise delays a restarted node's catch-up by as much.
   */
  redialNow(): void {
    if (this.state !== "idle" || this.reconnectTimer === null) return;
    this.clearReconnectTimer();
    this.attempt = 0;
    this.dial();
  }

  /** Points the link at a new address (membership change); reconnects if it differs. */
  setAddress(address: HostPort): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    if (this.state === "stopped") return;
    this.failure = { code: "ADDRESS_CHANGED", message: "peer address changed" };
    this.attempt = 0;
    if (this.socket !== null) this.socket.destroy();
    else {
      this.clearReconnectTimer();
      this.dial();
    }
  }

  stop(): void {
    if (this.state === "stopped") return;
    const wasOpen = this.state === "open";
    this.state = "stopped";
    this.clearReconnectTimer();
    this.clearHandshakeTimer();
    this.clearStallTimer();
    this.queue.clear();
    this.socket?.destroy();
    this.socket = null;
    if (wasOpen) this.context.options.metrics.peerConnection(this.peerId, false);
  }

  private dial(): void {
    if (this.state === "stopped") return;
    const { options } = this.context;
    this.state = "connecting";
    this.failure = null;
    this.waitingForDrain = false;
    const { host, port } = this.address;
    const socket =
      options.tls === null
        ? connect({ host, port })
        : connectTls({ host, port, ...tlsPeerConnectOptions(options.tls) });
    this.socket = socket;
    this.decoder = new FrameDecoder({ frameBytesMax: options.frameBytesMax });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    this.handshakeTimer = setTimeout(() => {
      this.fail(
        socket,
        "HANDSHAKE_TIMEOUT",
        `no hello from ${this.peerId} within ${options.handshakeTimeoutMs} ms`,
      );
    }, options.handshakeTimeoutMs);
    socket.once(options.tls === null ? "connect" : "secureConnect", () => {
      socket.write(this.context.encoder.encode(peerHello(options)));
    });
    socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (this.failure === null)
        this.failure = { code: error.code ?? "SOCKET_ERROR", message: error.message };
    });
    socket.once("close", () => this.onClose(socket));
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket || this.decoder === null) return;
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(socket, frame));
    } catch (error) {
      const code =
        error instanceof HandshakeFailedError
          ? `${error.code}:${error.reason}`
          : error instanceof DlockError
            ? error.code
            : "INTERNAL";
      this.fail(socket, code, error instanceof Error ? error.message : String(error));
    }
  }

  private onFrame(socket: Socket, frame: unknown): void {
    if (socket !== this.socket) return;
    const type =
      typeof frame === "object" && frame !== null ? (frame as { type?: unknown }).type : undefined;
    if (type === "error") {
      // The acceptor refused us (wrong cluster, unknown node, bad frame): it closes next.
      const error = errorFromWire((frame as { error?: unknown }).error);
      const reason =
        error instanceof HandshakeFailedError ? `${error.code}:${error.reason}` : error.code;
      this.fail(socket, reason, `peer ${this.peerId} refused the connection: ${error.message}`);
      return;
    }
    if (this.state === "connecting") {
      const { options } = this.context;
      const identity = checkPeerHello(frame, {
        clusterId: options.clusterId,
        expectedNodeId: this.peerId,
        selfNodeId: options.nodeId,
        ...(options.tls === null
          ? {}
          : {
              certificateNodeId: nodeIdFromCertificate((socket as TLSSocket).getPeerCertificate()),
            }),
      });
      options.dataCheck?.admit(identity.nodeId, identity.dataId);
      if (identity.clientAddress !== null) {
        this.context.onPeerClientAddress(identity.nodeId, identity.clientAddress);
      }
      this.onOpen();
      return;
    }
    throw new MalformedFrameError(
      `unexpected ${String(type)} frame from the acceptor of ${this.peerId}`,
    );
  }

  private onOpen(): void {
    this.clearHandshakeTimer();
    this.state = "open";
    this.attempt = 0;
    this.context.logOnce.forget(this.peerId);
    this.context.options.logger.info(
      { peer: this.peerId, address: formatHostPort(this.address) },
      "connected to peer",
    );
    this.context.options.metrics.peerConnection(this.peerId, true);
    this.flush();
  }

  /** Records why this connection is being dropped and destroys it; onClose reports and redials. */
  private fail(socket: Socket, code: string, message: string): void {
    if (socket !== this.socket) return;
    if (this.failure === null || this.failure.code.startsWith("E"))
      this.failure = { code, message };
    socket.destroy();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.decoder = null;
    this.clearHandshakeTimer();
    this.clearStallTimer();
    const wasOpen = this.state === "open";
    if (this.state === "stopped") return;
    this.state = "idle";
    if (wasOpen) this.context.options.metrics.peerConnection(this.peerId, false);
    const failure = this.failure ?? { code: "CLOSED", message: "connection closed by peer" };
    const { logger } = this.context.options;
    // An overflow logs itself, once per episode (overflow()).
    if (
      failure.code !== "SEND_QUEUE_FULL" &&
      this.context.logOnce.first(this.peerId, failure.code)
    ) {
      logger.warn(
        {
          peer: this.peerId,
          address: formatHostPort(this.address),
          code: failure.code,
          reason: failure.message,
        },
        wasOpen
          ? "peer connection lost; reconnecting"
          : "cannot connect to peer; retrying with backoff",
      );
    }
    const delayMs = backoffDelayMs(
      this.attempt++,
      {
        delayMsMin: this.context.options.reconnectDelayMsMin,
        delayMsMax: this.context.options.reconnectDelayMsMax,
      },
      this.context.options.random,
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, delayMs);
  }

  /**
   * More than sendQueueBytesMax is held for a connected peer: it does not read what we write.
   * Holding more would grow our memory without bound, and what we hold is stale by the time it
   * reads: drop the queue and the connection (and its unsent bytes), and let Raft retransmit after
   * the redial. Counted every time, logged once per episode (see overflowing).
   */
  private overflow(socket: Socket): void {
    const { options } = this.context;
    const heldBytes = this.queuedBytes;
    const dropped = this.queue.clear();
    this.queue.droppedTotal += dropped;
    if (dropped > 0) options.metrics.messagesDropped(this.peerId, dropped);
    options.metrics.sendQueueOverflow(this.peerId);
    if (!this.overflowing) {
      this.overflowing = true;
      options.logger.warn(
        {
          peer: this.peerId,
          address: formatHostPort(this.address),
          code: "SEND_QUEUE_FULL",
          heldBytes,
          sendQueueBytesMax: options.sendQueueBytesMax,
        },
        "peer does not read: dropped its link and queued messages (Raft retransmits after the redial; logged once until it reads again; see dlock_peer_queue_overflows_total)",
      );
    }
    this.fail(socket, "SEND_QUEUE_FULL", `more than ${options.sendQueueBytesMax} bytes held`);
  }

  private waitForDrain(socket: Socket): void {
    this.waitingForDrain = true;
    socket.once("drain", () => {
      if (socket !== this.socket) return;
      this.waitingForDrain = false;
      this.clearStallTimer();
      this.flush();
    });
    if (this.stallTimer === null) {
      const { writeStallTimeoutMs } = this.context.options;
      this.stallTimer = setTimeout(() => {
        this.stallTimer = null;
        this.fail(
          socket,
          "WRITE_STALLED",
          `no progress writing to ${this.peerId} for ${writeStallTimeoutMs} ms`,
        );
      }, writeStallTimeoutMs);
    }
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }
}
