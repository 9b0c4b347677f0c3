import { describe, expect, it } from "vitest";
import { HandshakeFailedError } from "@dlock/protocol";
import { checkPeerHello, peerHello } from "../../src/transport/peer-handshake.js";
import { nodeIdFromSubjectAltName } from "../../src/transport/peer-certificate.js";

const known = new Map([
  ["n1", null],
  ["n2", null],
]);
const expectation = { clusterId: "c", expectedNodeId: null, knownNodeIds: known, selfNodeId: "n3" };

/** The hello of node `nodeId` of cluster `clusterId`, advertising what it is given. */
function hello(
  clusterId: string,
  nodeId: string,
  advertisedClientAddress: string | null = null,
  dataId: string | null = null,
) {
  const dataCheck = dataId === null ? null : { dataId, admit: () => undefined };
  return peerHello({ clusterId, nodeId, advertisedClientAddress, dataCheck });
}

function refusal(run: () => unknown): { reason: string; message: string } | null {
  try {
    run();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(HandshakeFailedError);
    return { reason: (error as HandshakeFailedError).reason, message: (error as Error).message };
  }
}

describe("checkPeerHello with certificate identity", () => {
  it("accepts a hello whose node id is the certificate's", () => {
    expect(
      checkPeerHello(hello("c", "n1", "10.0.0.1:7001"), {
        ...expectation,
        certificateNodeId: "n1",
      }),
    ).toEqual({ nodeId: "n1", clientAddress: "10.0.0.1:7001", dataId: null });
  });

  it("passes on the sender's data folder id, and refuses a malformed one", () => {
    expect(
      checkPeerHello(hello("c", "n1", null, "folder-1"), {
        ...expectation,
        certificateNodeId: "n1",
      }),
    ).toEqual({ nodeId: "n1", clientAddress: null, dataId: "folder-1" });
    expect(
      refusal(() => checkPeerHello({ ...hello("c", "n1"), dataId: 7 }, expectation))?.reason,
    ).toBe("malformed");
  });

  it("refuses a hello claiming another node than the certificate, or a certificate naming none", () => {
    expect(
      refusal(() => checkPeerHello(hello("c", "n1"), { ...expectation, certificateNodeId: "n2" })),
    ).toMatchObject({ reason: "nodeId", message: expect.stringContaining('node "n2"') as string });
    expect(
      refusal(() => checkPeerHello(hello("c", "n1"), { ...expectation, certificateNodeId: null })),
    ).toMatchObject({
      reason: "nodeId",
      message: expect.stringContaining("names no node") as string,
    });
    // On the dialing side too.
    expect(
      refusal(() =>
        checkPeerHello(hello("c", "n2"), {
          ...expectation,
          expectedNodeId: "n2",
          certificateNodeId: "n1",
        }),
      ),
    ).toMatchObject({ reason: "nodeId" });
  });

  it("refuses a clientAddress that is not a reachable host:port", () => {
    for (const address of [
      "evil",
      "0.0.0.0:7001",
      "[::]:7001",
      ":7001",
      "host:0",
      "host:99999",
      "a b:1",
    ]) {
      expect(
        refusal(() => checkPeerHello(hello("c", "n1", address), expectation)),
        address,
      ).toMatchObject({ reason: "malformed" });
    }
    for (const address of ["db1.internal:7001", "10.0.0.1:7001", "[fd00::1]:7001"]) {
      expect(checkPeerHello(hello("c", "n1", address), expectation).clientAddress).toBe(address);
    }
  });
});

describe("nodeIdFromSubjectAltName", () => {
  it("reads exactly one dlock://node/ URI", () => {
    expect(nodeIdFromSubjectAltName("URI:dlock://node/n1, IP Address:127.0.0.1")).toBe("n1");
    expect(nodeIdFromSubjectAltName("DNS:n1, IP Address:127.0.0.1")).toBeNull();
    expect(nodeIdFromSubjectAltName("URI:dlock://client/n1")).toBeNull();
    expect(nodeIdFromSubjectAltName("URI:dlock://node/n1, URI:dlock://node/n2")).toBeNull();
    expect(nodeIdFromSubjectAltName(undefined)).toBeNull();
  });
});
