// The inbound half of the peer transport: a connection a peer dialed to us. We read Raft messages
// from it and never write to it after the hello (our replies travel on our own outbound link).
// Anything unexpected (garbage, an oversize length, a malformed message, a wrong cluster id)
// gets one error frame and a close; the listener keeps serving.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Message, NodeId } from "@dlock/raft";
import {
  DlockError,
  FrameDecoder,
  HandshakeFailedError,
  MalformedFrameError,
  parseRaftBatch,
} from "@dlock/protocol";
import type { ErrorFrame, FrameEncoder } from "@dlock/protocol";
import { nodeIdFromCertificate } from "./peer-certificate.js";
import { checkPeerHello, peerHello } from "./peer-handshake.js";
import type { ResolvedTcpPeerTransportOptions } from "./peer-transport.js";
import { validateRaftMessage } from "./raft-message-validation.js";

/** After sending an error frame, how long the remote gets to read it before we cut the socket. */
const ERROR_LINGER_MS = 1_000;

export interface InboundContext {
  options: ResolvedTcpPeerTransportOptions;
  encoder: FrameEncoder;
  /** Ids allowed to connect. */
  knownPeers(): { has(id: NodeId): boolean };
  /** Called once the hello is accepted; the transport closes an older connection from the same peer. */
  onIdentified(connection: InboundPeerConnection): void;
  deliver(message: Message): void;
  onRejected(connection: InboundPeerConnection, error: DlockError): void;
  onClosed(connection: InboundPeerConnection): void;
}

export class InboundPeerConnection {
  readonly socket: Socket;
  remoteNodeId: NodeId | null = null;
  /**
   * The advertised client address the peer sent in its hello, kept only when its certificate
   * proved who it is (over plain TCP anyone could claim any id and steer client redirects).
   */
  remoteClientAddress: string | null = null;
  private readonly context: InboundContext;
  private readonly decoder: FrameDecoder;
  private state: "hello" | "open" | "closing" | "closed" = "hello";
  private handshakeTimer: NodeJS.Timeout | null;
  private readonly onFrameBound = (frame: unknown) => this.onFrame(frame);

  constructor(socket: Socket, context: InboundContext) {
    this.socket = socket;
    this.context = context;
    this.decoder = new FrameDecoder({ frameBytesMax: context.options.frameBytesMax });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      this.reject(new HandshakeFailedError("timeout", "no hello within the handshake timeout"));
    }, context.options.handshakeTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {
      // Resets from peers that died are routine; the close handler cleans up.
    });
    socket.once("close", () => {
      this.clearHandshakeTimer();
      this.state = "closed";
      context.onClosed(this);
    });
  }

  /** Closes without an error frame (superseded by a newer connection, or transport stopping). */
  close(): void {
    this.clearHandshakeTimer();
    this.state = "closed";
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.state === "closing" || this.state === "closed") return;
    try {
      this.decoder.push(chunk, this.onFrameBound);
    } catch (error) {
      this.reject(error instanceof DlockError ? error : new MalformedFrameError(String(error)));
    }
  }

  private onFrame(frame: unknown): void {
    if (this.state === "open") {
      this.onRaftFrame(frame);
      return;
    }
    if (this.state !== "hello") return;
    const { options } = this.context;
    const identity = checkPeerHello(frame, {
      clusterId: options.clusterId,
      expectedNodeId: null,
      knownNodeIds: this.context.knownPeers(),
      selfNodeId: options.nodeId,
      ...(options.tls === null
        ? {}
        : {
            certificateNodeId: nodeIdFromCertificate(
              (this.socket as TLSSocket).getPeerCertificate(),
            ),
          }),
    });
    options.dataCheck?.admit(identity.nodeId, identity.dataId);
    this.remoteNodeId = identity.nodeId;
    this.remoteClientAddress = options.tls === null ? null : identity.clientAddress;
    this.clearHandshakeTimer();
    this.state = "open";
    this.socket.write(this.context.encoder.encode(peerHello(options)));
    this.context.onIdentified(this);
  }

  private onRaftFrame(frame: unknown): void {
    const { messages } = parseRaftBatch(frame);
    // Validate the whole frame before delivering any of it: a frame is all good or all refused.
    const selfNodeId = this.context.options.nodeId;
    for (const value of messages) {
      const message = validateRaftMessage(value);
      if (message.from !== this.remoteNodeId || message.to !== selfNodeId) {
        throw new MalformedFrameError(
          `raft message from ${message.from} to ${message.to} on the connection of ${this.remoteNodeId}`,
        );
      }
    }
    for (const message of messages as Message[]) this.context.deliver(message);
  }

  private reject(error: DlockError): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.clearHandshakeTimer();
    this.state = "closing";
    this.context.onRejected(this, error);
    const frame: ErrorFrame = { type: "error", id: null, error: error.toWire() };
    try {
      this.socket.end(this.context.encoder.encode(frame));
    } catch {
      this.socket.destroy();
      return;
    }
    setTimeout(() => this.socket.destroy(), ERROR_LINGER_MS).unref();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}
