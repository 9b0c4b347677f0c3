// The peer hello. The dialer sends its hello first; the acceptor checks it (protocol version,
// cluster id, a known member id) and only then answers with its own hello, so a refused dialer
// gets an error frame instead. The dialer checks that the answer names the node it meant to reach:
// a stale address can point at another member. With TLS, both ends also check that the hello's
// node id is the one the other side's certificate names: a certificate is a node's identity.
import type { NodeId } from "@dlock/raft";
import {
  checkHello,
  HandshakeFailedError,
  isWildcardHost,
  parseHello,
  parseHostPort,
  helloVersionFields,
} from "@dlock/protocol";
import type { HelloFrame } from "@dlock/protocol";
import { NODE_URI_PREFIX } from "./peer-certificate.js";
import type { ResolvedTcpPeerTransportOptions } from "./peer-transport.js";

/** What a node's own peer hello says, from its transport options. */
export type PeerHelloSource = Pick<
  ResolvedTcpPeerTransportOptions,
  "clusterId" | "nodeId" | "advertisedClientAddress" | "dataCheck"
>;

/** This node's hello, the same for every connection: sent first by a dialer, in answer by an acceptor. */
export function peerHello(source: PeerHelloSource): HelloFrame {
  const hello: HelloFrame = {
    type: "hello",
    ...helloVersionFields(),
    clusterId: source.clusterId,
    role: "peer",
    nodeId: source.nodeId,
  };
  if (source.advertisedClientAddress !== null) {
    hello.clientAddress = source.advertisedClientAddress;
  }
  if (source.dataCheck !== null) hello.dataId = source.dataCheck.dataId;
  return hello;
}

/** Who is on the other end of a peer connection. */
export interface PeerIdentity {
  nodeId: NodeId;
  /** The peer's advertised client address, if it sent one. */
  clientAddress: string | null;
  /** The peer's data folder id, if it sent one. */
  dataId: string | null;
}

export interface PeerHelloExpectation {
  clusterId: string;
  /** The id the remote must have (dialer side), or null to accept any id in `knownNodeIds`. */
  expectedNodeId: NodeId | null;
  /** Ids allowed to connect (acceptor side); ignored when `expectedNodeId` is set. */
  knownNodeIds?: { has(id: NodeId): boolean };
  selfNodeId: NodeId;
  /**
   * With TLS: the node id the other side's verified certificate names (null: it names none). The
   * hello must claim the same id. Undefined without TLS (plain TCP proves nothing).
   */
  certificateNodeId?: NodeId | null;
}

/** "host:port" with a real host and a port in 1..65535 (what a client can be redirected to). */
function isClientAddress(value: string): boolean {
  try {
    return !isWildcardHost(parseHostPort(value, "clientAddress").host);
  } catch {
    return false;
  }
}

/** Returns who sent a valid peer hello; throws HandshakeFailedError otherwise. */
export function checkPeerHello(frame: unknown, expectation: PeerHelloExpectation): PeerIdentity {
  const hello = parseHello(frame);
  const mismatch = checkHello(hello, {
    role: "peer",
    clusterId: expectation.clusterId,
    allowAnyClusterId: false,
    ...(expectation.expectedNodeId !== null ? { nodeId: expectation.expectedNodeId } : {}),
  });
  if (mismatch !== null) throw mismatch;
  const nodeId = hello.nodeId as NodeId;
  if (
    expectation.expectedNodeId === null &&
    (nodeId === expectation.selfNodeId || !expectation.knownNodeIds?.has(nodeId))
  ) {
    throw new HandshakeFailedError(
      "nodeId",
      `node "${nodeId}" is not a member known to ${expectation.selfNodeId}`,
    );
  }
  if (expectation.certificateNodeId !== undefined && expectation.certificateNodeId !== nodeId) {
    throw new HandshakeFailedError(
      "nodeId",
      expectation.certificateNodeId === null
        ? `hello claims node "${nodeId}" but the certificate names no node (no ${NODE_URI_PREFIX}<id> URI)`
        : `hello claims node "${nodeId}" but the certificate is node "${expectation.certificateNodeId}"'s`,
    );
  }
  const clientAddress = hello.clientAddress ?? null;
  if (clientAddress !== null && !isClientAddress(clientAddress)) {
    throw new HandshakeFailedError(
      "malformed",
      `hello.clientAddress ${JSON.stringify(clientAddress)} must be a reachable host:port`,
    );
  }
  return { nodeId, clientAddress, dataId: hello.dataId ?? null };
}
