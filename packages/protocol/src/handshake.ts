// The hello exchange that opens every connection. Both sides send a hello at once and check the
// other's with `checkHello`; on a mismatch they send an error frame (id null) and close.
import { HandshakeFailedError } from "./errors.js";
import { AUTH_TOKEN_BYTES_MAX, ID_BYTES_MAX, isAuthToken } from "./limits.js";
import type { ConnectionRole, HelloFrame } from "./messages.js";
import { PROTOCOL_VERSION } from "./messages.js";

/** How long a side waits for the other's hello before closing the connection. */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isId = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= ID_BYTES_MAX;

/** Longest advertised client address a peer hello may carry (a DNS name and a port). */
const CLIENT_ADDRESS_BYTES_MAX = 300;

/** Reads a hello frame. Throws HandshakeFailedError ("malformed") for anything else. */
export function parseHello(body: unknown): HelloFrame {
  if (!isRecord(body) || body.type !== "hello") {
    throw new HandshakeFailedError("malformed", "the first frame must be a hello");
  }
  const { protocolVersion, clusterId, role, nodeId, clientId, clientAddress, authToken } = body;
  if (typeof protocolVersion !== "number" || !Number.isInteger(protocolVersion)) {
    throw new HandshakeFailedError("malformed", "hello.protocolVersion must be an integer");
  }
  if (clusterId !== null && !isId(clusterId)) {
    throw new HandshakeFailedError("malformed", "hello.clusterId must be a short string or null");
  }
  if (role !== "client" && role !== "peer") {
    throw new HandshakeFailedError("malformed", 'hello.role must be "client" or "peer"');
  }
  if (nodeId !== undefined && !isId(nodeId)) {
    throw new HandshakeFailedError("malformed", "hello.nodeId must be a short string");
  }
  if (clientId !== undefined && !isId(clientId)) {
    throw new HandshakeFailedError("malformed", "hello.clientId must be a short string");
  }
  if (
    clientAddress !== undefined &&
    (typeof clientAddress !== "string" ||
      clientAddress.length === 0 ||
      clientAddress.length > CLIENT_ADDRESS_BYTES_MAX)
  ) {
    throw new HandshakeFailedError("malformed", "hello.clientAddress must be a short host:port");
  }
  if (authToken !== undefined && !isAuthToken(authToken)) {
    throw new HandshakeFailedError(
      "malformed",
      `hello.authToken must be a string of 1 to ${AUTH_TOKEN_BYTES_MAX} bytes`,
    );
  }
  const hello: HelloFrame = { type: "hello", protocolVersion, clusterId, role };
  if (nodeId !== undefined) hello.nodeId = nodeId;
  if (clientId !== undefined) hello.clientId = clientId;
  if (clientAddress !== undefined) hello.clientAddress = clientAddress;
  if (authToken !== undefined) hello.authToken = authToken;
  return hello;
}

export interface HelloExpectation {
  /** The role this end serves on the connection. */
  role: ConnectionRole;
  /** This end's cluster id; null accepts any (a client that was not told one). */
  clusterId: string | null;
  /**
   * Whether a null cluster id from the other side is acceptable. Servers accept it from clients
   * (which then learn the id from the server's hello); peers always name their cluster.
   */
  allowAnyClusterId?: boolean;
  /** Who the other side must be (e.g. the node a peer connection was dialled for). */
  nodeId?: string;
}

/** The other side's hello checked against ours: null when acceptable, else the error to send. */
export function checkHello(
  hello: HelloFrame,
  expect: HelloExpectation,
): HandshakeFailedError | null {
  if (hello.protocolVersion !== PROTOCOL_VERSION) {
    return new HandshakeFailedError(
      "protocolVersion",
      `protocol version ${hello.protocolVersion} is not supported (this side speaks ${PROTOCOL_VERSION})`,
    );
  }
  if (hello.role !== expect.role) {
    return new HandshakeFailedError(
      "role",
      `a ${hello.role} connection reached a ${expect.role} port`,
    );
  }
  if (hello.clusterId === null) {
    if (!expect.allowAnyClusterId) {
      return new HandshakeFailedError("clusterId", "the hello must name its cluster id");
    }
  } else if (expect.clusterId !== null && hello.clusterId !== expect.clusterId) {
    return new HandshakeFailedError(
      "clusterId",
      `cluster id "${hello.clusterId}" does not match this cluster ("${expect.clusterId}")`,
    );
  }
  if (expect.nodeId !== undefined && hello.nodeId !== expect.nodeId) {
    return new HandshakeFailedError(
      "nodeId",
      `expected node "${expect.nodeId}", got "${hello.nodeId ?? "(none)"}"`,
    );
  }
  if (hello.role === "client" && hello.clientId === undefined && hello.nodeId === undefined) {
    return new HandshakeFailedError(
      "malformed",
      "a client hello needs a clientId (or a server's nodeId)",
    );
  }
  if (hello.role === "peer" && hello.nodeId === undefined) {
    return new HandshakeFailedError("malformed", "a peer hello needs a nodeId");
  }
  return null;
}
