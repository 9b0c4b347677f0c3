// Issue 3, "what it must show" #6, peer port: a hello with a wrong cluster id, a wrong protocol
// version, an unknown or impersonated node id or the client role, garbage bytes, oversize and
// malformed frames, and — after a hello that names a member — batches that are not valid Raft
// messages: each gets a typed connection-level error frame and a close. The real peers reconnect
// and every node keeps serving. The batches come from a connection naming PHANTOM, a voter listed
// in --cluster with no process: on a plaintext cluster a connection naming a running member is
// displaced as soon as that member dials in again (which it does at once, since a node that is
// dialled redials its caller), so it could be closed before its bad batch is answered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { sumMetric } from "./support/metrics.js";
import { clientHello, peerHello, RawConnection } from "./support/raw-connection.js";
import { expectEveryNodeServing } from "./support/serving.js";

/** LocalCluster's default cluster id. */
const CLUSTER_ID = "dlock-local";
/** A fourth voter with no process (port 1: nothing listens there); three of four are a quorum. */
const PHANTOM = "n9";

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("bad-peer", {
    clusterListFor: (_node, all) =>
      [...all.map((n) => `${n.id}=${n.peerAddress}`), `${PHANTOM}=127.0.0.1:1`].join(","),
  });
});

afterAll(async () => {
  await test?.dispose();
});

function header(length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length, 0);
  return bytes;
}

/** What is sent to node `self` (whose fellow member is `other`), and the error it must answer. */
const BAD_HELLOS: Array<{
  name: string;
  send: (connection: RawConnection, self: string, other: string) => void;
  code: string;
  reason?: string;
}> = [
  {
    name: "a hello with a wrong cluster id",
    send: (c, _self, other) => c.sendFrame(peerHello("another-cluster", other)),
    code: "HANDSHAKE_FAILED",
    reason: "clusterId",
  },
  {
    name: "a hello without a cluster id",
    send: (c, _self, other) => c.sendFrame(peerHello(CLUSTER_ID, other, { clusterId: null })),
    code: "HANDSHAKE_FAILED",
    reason: "clusterId",
  },
  {
    name: "a hello with a wrong protocol version",
    send: (c, _self, other) => c.sendFrame(peerHello(CLUSTER_ID, other, { protocolVersion: 2 })),
    code: "HANDSHAKE_FAILED",
    reason: "protocolVersion",
  },
  {
    name: "a hello from a node that is not a member",
    send: (c) => c.sendFrame(peerHello(CLUSTER_ID, "intruder")),
    code: "HANDSHAKE_FAILED",
    reason: "nodeId",
  },
  {
    name: "a hello that claims to be the node itself",
    send: (c, self) => c.sendFrame(peerHello(CLUSTER_ID, self)),
    code: "HANDSHAKE_FAILED",
    reason: "nodeId",
  },
  {
    name: "a client hello on the peer port",
    send: (c) => c.sendFrame(clientHello({ clusterId: CLUSTER_ID })),
    code: "HANDSHAKE_FAILED",
    reason: "role",
  },
  {
    name: "an HTTP request",
    send: (c) => c.sendBytes(Buffer.from("POST /raft HTTP/1.1\r\nContent-Length: 0\r\n\r\n")),
    code: "FRAME_TOO_LARGE",
  },
  {
    name: "a length prefix of 4 GiB",
    send: (c) => c.sendBytes(header(0xffff_ffff)),
    code: "FRAME_TOO_LARGE",
  },
  {
    name: "a body that is not msgpack",
    send: (c) => c.sendRawFrame(3, Buffer.from([0xc1, 0xc1, 0xc1])),
    code: "MALFORMED_FRAME",
  },
  {
    name: "an empty frame",
    send: (c) => c.sendBytes(header(0)),
    code: "MALFORMED_FRAME",
  },
];

/** Frames sent after a valid hello that names `other`, and the error each must get. */
const BAD_BATCHES: Array<{
  name: string;
  send: (connection: RawConnection, self: string, other: string) => void;
  code: string;
}> = [
  {
    name: "a batch of messages that are not Raft messages",
    send: (c) => c.sendFrame({ type: "raft", messages: [{ garbage: true }, 42] }),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a Raft message with a term that is not a number",
    send: (c, self, other) =>
      c.sendFrame({
        type: "raft",
        messages: [{ type: "heartbeat", from: other, to: self, term: "x" }],
      }),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a frame that is not a Raft batch",
    send: (c) =>
      c.sendFrame({ type: "acquire", id: 1, key: "k", value: "v", ttlMs: 1000, requestId: "r" }),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a body that is not msgpack",
    send: (c) => c.sendRawFrame(1, Buffer.from([0xc1])),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a length prefix over the peer frame limit",
    send: (c) => c.sendBytes(header(0xffff_ffff)),
    code: "FRAME_TOO_LARGE",
  },
];

describe("bad input on the peer port", () => {
  it("refuses bad hellos, garbage, oversize and malformed frames with a typed error frame and a close", async () => {
    const rejectedBefore = await sumMetric(test.cluster, "dlock_peer_inbound_rejected_total");
    for (const node of test.cluster.nodes) {
      const other = test.cluster.nodes.find((n) => n.id !== node.id)!.id;
      for (const { name, send, code, reason } of BAD_HELLOS) {
        const connection = await RawConnection.open(node.peerAddress);
        try {
          send(connection, node.id, other);
          expect(await connection.refusal(), `${node.id}: ${name}`).toMatchObject({
            error: { code, ...(reason === undefined ? {} : { reason }) },
            closed: true,
          });
        } finally {
          connection.close();
        }
      }
    }
    const rejectedAfter = await sumMetric(test.cluster, "dlock_peer_inbound_rejected_total");
    expect(rejectedAfter - rejectedBefore).toBe(test.cluster.nodes.length * BAD_HELLOS.length);
  });

  it("refuses invalid batches from a connection that named a member", async () => {
    for (const node of test.cluster.nodes) {
      const other = PHANTOM;
      for (const { name, send, code } of BAD_BATCHES) {
        const connection = await RawConnection.open(node.peerAddress);
        try {
          connection.sendFrame(peerHello(CLUSTER_ID, other));
          const hello = await connection.next();
          expect(hello, `${node.id} answers the hello of ${other}`).toMatchObject({
            kind: "frame",
            body: { type: "hello", role: "peer", nodeId: node.id, clusterId: CLUSTER_ID },
          });
          send(connection, node.id, other);
          expect(await connection.refusal(), `${node.id}: ${name}`).toMatchObject({
            error: { code },
            closed: true,
          });
        } finally {
          connection.close();
        }
      }
    }
  });

  it("keeps every node serving (the real peers reconnect)", async () => {
    await expectEveryNodeServing(test.cluster);
  });
});
