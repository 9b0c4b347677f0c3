// The peer hello. The dialer sends its hello first; the acceptor checks it (protocol version,
// cluster id, a known member id) and only then answers with its own hello, so a refused dialer
// gets an error frame instead. The dialer checks that the answer names the node it meant to reach:
// a stale address can point at another member.
import type { NodeId } from "@dlock/raft";
import { checkHello, HandshakeFailedError, parseHello, PROTOCOL_VERSION } from "@dlock/protocol";
import type { HelloFrame } from "@dlock/protocol";

export function peerHello(
  clusterId: string,
  nodeId: NodeId,
  clientAddress: string | null = null,
): HelloFrame {
  const hello: HelloFrame = {
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId,
    role: "peer",
    nodeId,
  };
  if (clientAddress !== null) hello.clientAddress = clientAddress;
  return hello;
}

/** Who is on the other end of a peer connection. */
export interface PeerIdentity {
  nodeId: NodeId;
  /** The peer's advertised client address, if it sent one. */
  clientAddress: string | null;
}

export interface PeerHelloExpectation {
  clusterId: string;
  /** The id the remote must have (dialer side), or null to accept any id in `knownNodeIds`. */
  expectedNodeId: NodeId | null;
  /** Ids allowed to connect (acceptor side); ignored when `expectedNodeId` is set. */
  knownNodeIds?: ReadonlyMap<NodeId, unknown>;
  selfNodeId: NodeId;
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
  return { nodeId, clientAddress: hello.clientAddress ?? null };
}
