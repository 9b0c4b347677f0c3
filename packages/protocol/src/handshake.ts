// The hello exchange that opens every connection. Both sides send a hello at once and check the
// other's with `checkHello`; on a mismatch they send an error frame (id null) and close.
import { HandshakeFailedError } from "./errors.js";
import { AUTH_TOKEN_BYTES_MAX, ID_BYTES_MAX, isAuthToken } from "./limits.js";
import type { ConnectionRole, HelloFrame } from "./messages.js";
import { PROTOCOL_VERSION, PROTOCOL_VERSION_MIN } from "./messages.js";

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
  const { dataId } = body;
  const { protocolVersionMin } = body;
  if (typeof protocolVersion !== "number" || !Number.isInteger(protocolVersion)) {
    throw new HandshakeFailedError("malformed", "hello.protocolVersion must be an integer");
  }
  if (
    protocolVersionMin !== undefined &&
    (typeof protocolVersionMin !== "number" ||
      !Number.isInteger(protocolVersionMin) ||
      protocolVersionMin > protocolVersion)
  ) {
    throw new HandshakeFailedError(
      "malformed",
      "hello.protocolVersionMin must be an integer no greater than hello.protocolVersion",
    );
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
  if (dataId !== undefined && !isId(dataId)) {
    throw new HandshakeFailedError("malformed", "hello.dataId must be a short string");
  }
  if (authToken !== undefined && !isAuthToken(authToken)) {
    throw new HandshakeFailedError(
      "malformed",
      `hello.authToken must be a string of 1 to ${AUTH_TOKEN_BYTES_MAX} bytes`,
    );
  }
  const hello: HelloFrame = { type: "hello", protocolVersion, clusterId, role };
  if (protocolVersionMin !== undefined) hello.protocolVersionMin = protocolVersionMin;
  if (nodeId !== undefined) hello.nodeId = nodeId;
  if (clientId !== undefined) hello.clientId = clientId;
  if (clientAddress !== undefined) hello.clientAddress = clientAddress;
  if (dataId !== undefined) hello.dataId = dataId;
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

/** The versions a side speaks, oldest and newest. */
export interface ProtocolVersionRange {
  min: number;
  max: number;
}

/** What this build speaks. */
export const PROTOCOL_VERSIONS: ProtocolVersionRange = {
  min: PROTOCOL_VERSION_MIN,
  max: PROTOCOL_VERSION,
};

/** The version fields of our hello: the range only when it is one (so v1 hellos stay as they were). */
export function helloVersionFields(
  ours: ProtocolVersionRange = PROTOCOL_VERSIONS,
): Pick<HelloFrame, "protocolVersion" | "protocolVersionMin"> {
  return ours.min === ours.max
    ? { protocolVersion: ours.max }
    : { protocolVersion: ours.max, protocolVersionMin: ours.min };
}

/**
 * The version a connection uses: the newest both sides speak, or null when their ranges do not
 * overlap. A hello without protocolVersionMin speaks exactly its protocolVersion.
 */
export function negotiateProtocolVersion(
  hello: Pick<HelloFrame, "protocolVersion" | "protocolVersionMin">,
  ours: ProtocolVersionRange = PROTOCOL_VERSIONS,
): number | null {
  const theirMin = hello.protocolVersionMin ?? hello.protocolVersion;
  const version = Math.min(hello.protocolVersion, ours.max);
  return version >= Math.max(theirMin, ours.min) ? version : null;
}

/** The other side's hello checked against ours: null when acceptable, else the error to send. */
export function checkHello(
  hello: HelloFrame,
  expect: HelloExpectation,
  ours: ProtocolVersionRange = PROTOCOL_VERSIONS,
): HandshakeFailedError | null {
  if (negotiateProtocolVersion(hello, ours) === null) {
    const theirs =
      hello.protocolVersionMin === undefined
        ? `${hello.protocolVersion}`
        : `${hello.protocolVersionMin} to ${hello.protocolVersion}`;
    const mine = ours.min === ours.max ? `${ours.max}` : `${ours.min} to ${ours.max}`;
    return new HandshakeFailedError(
      "protocolVersion",
      `protocol version ${theirs} is not supported (this side speaks ${mine}): run dlock versions whose ranges overlap (see the compatibility policy in docs/operations.md)`,
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
