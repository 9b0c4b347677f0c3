// Issue 3, "what it must show" #6, client port: oversize keys and values, bad TTLs and other bad
// fields get a typed INVALID_ARGUMENT answer naming the field, on a connection that stays usable;
// malformed or oversize frames, garbage bytes and bad hellos (wrong cluster id, wrong protocol
// version, wrong role) get a typed connection-level error frame and a close. Every node keeps
// serving. Requests are written by hand on raw sockets with @dlock/protocol's frame encoder.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, TTL_FLOOR_MS } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { sumMetric } from "./support/metrics.js";
import { clientHello, openClientSession, RawConnection } from "./support/raw-connection.js";
import { expectEveryNodeServing } from "./support/serving.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** The server's default client frame limit. */
const CLIENT_FRAME_BYTES_MAX = 64 * 1024;

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("bad-client");
});

afterAll(async () => {
  await test?.dispose();
});

const acquire = (fields: Record<string, unknown>) => ({
  type: "acquire",
  key: "k",
  value: "v",
  ttlMs: 2 * TTL_FLOOR_MS,
  requestId: "raw-1",
  ...fields,
});

/** Requests with one bad field each, and the field the INVALID_ARGUMENT answer must name. */
const BAD_FIELDS: Array<{ name: string; request: Record<string, unknown>; field: string }> = [
  { name: "key of 513 bytes", request: acquire({ key: "k".repeat(513) }), field: "key" },
  {
    name: "key of 257 two-byte characters",
    request: acquire({ key: "é".repeat(257) }),
    field: "key",
  },
  { name: "empty key", request: acquire({ key: "" }), field: "key" },
  { name: "key that is a number", request: acquire({ key: 42 }), field: "key" },
  { name: "value of 257 bytes", request: acquire({ value: "v".repeat(257) }), field: "value" },
  { name: "ttl far below the floor", request: acquire({ ttlMs: 10 }), field: "ttlMs" },
  {
    name: "ttl just below the floor",
    request: acquire({ ttlMs: TTL_FLOOR_MS - 1 }),
    field: "ttlMs",
  },
  { name: "ttl above the maximum", request: acquire({ ttlMs: DAY_MS + 1 }), field: "ttlMs" },
  { name: "negative ttl", request: acquire({ ttlMs: -5_000 }), field: "ttlMs" },
  { name: "non-integer ttl", request: acquire({ ttlMs: 1500.5 }), field: "ttlMs" },
  { name: "ttl as a string", request: acquire({ ttlMs: "2s" }), field: "ttlMs" },
  { name: "ttl NaN", request: acquire({ ttlMs: Number.NaN }), field: "ttlMs" },
  { name: "ttl beyond 2^53", request: acquire({ ttlMs: 2 ** 60 }), field: "ttlMs" },
  { name: "missing ttl", request: acquire({ ttlMs: undefined }), field: "ttlMs" },
  { name: "negative wait", request: acquire({ waitMs: -1 }), field: "waitMs" },
  { name: "wait above the maximum", request: acquire({ waitMs: DAY_MS + 1 }), field: "waitMs" },
  {
    name: "request id of 193 bytes",
    request: acquire({ requestId: "r".repeat(193) }),
    field: "requestId",
  },
  {
    name: "refresh with a ttl below the floor",
    request: { type: "refresh", key: "k", value: "v", token: 1, ttlMs: 10 },
    field: "ttlMs",
  },
  {
    name: "refresh with token 0",
    request: { type: "refresh", key: "k", value: "v", token: 0, ttlMs: TTL_FLOOR_MS },
    field: "token",
  },
  {
    name: "refresh with a fractional token",
    request: { type: "refresh", key: "k", value: "v", token: 1.5, ttlMs: TTL_FLOOR_MS },
    field: "token",
  },
  {
    name: "release with an oversize value",
    request: { type: "release", key: "k", value: "v".repeat(300) },
    field: "value",
  },
  {
    name: "release with a string token",
    request: { type: "release", key: "k", value: "v", token: "7" },
    field: "token",
  },
  {
    name: "get with an oversize key",
    request: { type: "get", key: "k".repeat(600) },
    field: "key",
  },
  {
    name: "cancel with an empty request id",
    request: { type: "cancel", key: "k", value: "v", requestId: "" },
    field: "requestId",
  },
  { name: "unknown request type", request: { type: "explode" }, field: "type" },
];

function header(length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length, 0);
  return bytes;
}

/** Deterministic pseudo-random bytes (a fixed LCG seed: the same garbage every run). */
function garbage(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** Input that breaks the connection, and the error code of the frame the server must answer with. */
const BAD_STREAMS: Array<{
  name: string;
  /** Whether to complete a valid hello first. */
  afterHello: boolean;
  send: (connection: RawConnection) => void;
  code: string;
  reason?: string;
}> = [
  {
    name: "an HTTP request instead of a hello",
    afterHello: false,
    send: (c) => c.sendBytes(Buffer.from("GET / HTTP/1.1\r\nHost: dlock\r\n\r\n")),
    code: "FRAME_TOO_LARGE",
  },
  {
    name: "pseudo-random garbage",
    afterHello: false,
    send: (c) => c.sendBytes(garbage(4096, 20_240_601)),
    code: "FRAME_TOO_LARGE",
  },
  {
    name: "a hello with a wrong cluster id",
    afterHello: false,
    send: (c) => c.sendFrame(clientHello({ clusterId: "another-cluster" })),
    code: "HANDSHAKE_FAILED",
    reason: "clusterId",
  },
  {
    name: "a hello with a wrong protocol version",
    afterHello: false,
    send: (c) => c.sendFrame(clientHello({ protocolVersion: 99 })),
    code: "HANDSHAKE_FAILED",
    reason: "protocolVersion",
  },
  {
    name: "a hello whose protocol version is a string",
    afterHello: false,
    send: (c) => c.sendFrame({ ...clientHello(), protocolVersion: "1" }),
    code: "HANDSHAKE_FAILED",
    reason: "malformed",
  },
  {
    name: "a peer hello on the client port",
    afterHello: false,
    send: (c) =>
      c.sendFrame({ ...clientHello({ role: "peer", clusterId: "dlock-local" }), nodeId: "n9" }),
    code: "HANDSHAKE_FAILED",
    reason: "role",
  },
  {
    name: "a request before the hello",
    afterHello: false,
    send: (c) => c.sendFrame({ ...acquire({}), id: 1 }),
    code: "HANDSHAKE_FAILED",
    reason: "malformed",
  },
  {
    name: "a length prefix of 4 GiB",
    afterHello: false,
    send: (c) => c.sendBytes(header(0xffff_ffff)),
    code: "FRAME_TOO_LARGE",
  },
  {
    name: "a frame one byte over the client frame limit",
    afterHello: true,
    send: (c) => c.sendRawFrame(CLIENT_FRAME_BYTES_MAX + 1, Buffer.alloc(1024)),
    code: "FRAME_TOO_LARGE",
  },
  {
    name: "a body that is not msgpack (0xc1)",
    afterHello: true,
    send: (c) => c.sendRawFrame(1, Buffer.from([0xc1])),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a msgpack string that claims more bytes than the frame holds",
    afterHello: true,
    send: (c) => c.sendRawFrame(8, Buffer.from([0xdb, 0x00, 0x00, 0x03, 0xe8, 0x61, 0x62, 0x63])),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a msgpack map header claiming 2^32-1 entries",
    afterHello: true,
    send: (c) => c.sendRawFrame(5, Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff])),
    code: "MALFORMED_FRAME",
  },
  {
    name: "60,000 nested arrays",
    afterHello: true,
    send: (c) => {
      const body = Buffer.concat([Buffer.alloc(60_000, 0x91), Buffer.from([0xc0])]);
      c.sendRawFrame(body.length, body);
    },
    code: "MALFORMED_FRAME",
  },
  {
    name: "an empty frame",
    afterHello: true,
    send: (c) => c.sendBytes(header(0)),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a request without an id",
    afterHello: true,
    send: (c) => c.sendFrame(acquire({})),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a request id beyond 2^31-1",
    afterHello: true,
    send: (c) => c.sendFrame({ ...acquire({}), id: 2 ** 31 }),
    code: "MALFORMED_FRAME",
  },
  {
    name: "a frame that is a bare string",
    afterHello: true,
    send: (c) => c.sendFrame("acquire k v"),
    code: "MALFORMED_FRAME",
  },
];

describe("bad input on the client port", () => {
  it("answers each bad field with INVALID_ARGUMENT naming it, on every node, and the connection stays usable", async () => {
    for (const node of test.cluster.nodes) {
      const session = await openClientSession(node.clientAddress);
      try {
        let id = 1;
        for (const { name, request, field } of BAD_FIELDS) {
          const requestId = id++;
          session.sendFrame({ ...request, id: requestId });
          const answer = await session.answer(requestId);
          expect(answer, `${node.id}: ${name}`).toMatchObject({
            type: "error",
            error: { code: "INVALID_ARGUMENT", field },
          });
        }
        const statusId = id++;
        session.sendFrame({ type: "status", id: statusId });
        const status = await session.answer(statusId);
        // The leader answers status; a follower that knows it sends the client there instead.
        if (status.type === "ok") {
          expect(status, `${node.id}: status after the bad requests`).toMatchObject({
            result: { leader: expect.any(String) },
          });
        } else {
          expect(status, `${node.id}: status after the bad requests`).toMatchObject({
            type: "error",
            error: { code: "NOT_LEADER", leaderHint: { clientAddress: expect.any(String) } },
          });
        }
        expect(session.isClosed).toBe(false);
      } finally {
        session.close();
      }
    }
  });

  it("refuses malformed and oversize frames, garbage and bad hellos with a typed error frame and a close", async () => {
    const rejectedBefore = await sumMetric(test.cluster, "dlock_client_connections_rejected_total");
    // A connection that never says hello is cut when the handshake times out (in parallel).
    const silent = await Promise.all(
      test.cluster.nodes.map((n) => RawConnection.open(n.clientAddress)),
    );
    for (const node of test.cluster.nodes) {
      for (const { name, afterHello, send, code, reason } of BAD_STREAMS) {
        const connection = afterHello
          ? await openClientSession(node.clientAddress)
          : await RawConnection.open(node.clientAddress);
        try {
          send(connection);
          const refusal = await connection.refusal();
          expect(refusal, `${node.id}: ${name}`).toMatchObject({
            error: { code, ...(reason === undefined ? {} : { reason }) },
            closed: true,
          });
        } finally {
          connection.close();
        }
      }
      // Half a frame and a hang-up: nothing to answer, nothing to break.
      const partial = await openClientSession(node.clientAddress);
      partial.sendBytes(Buffer.concat([header(200), Buffer.from([0x85, 0xa4])]));
      partial.close();
    }
    for (const connection of silent) {
      expect(await connection.refusal(15_000)).toMatchObject({
        error: { code: "HANDSHAKE_FAILED", reason: "timeout" },
        closed: true,
      });
    }
    const rejectedAfter = await sumMetric(test.cluster, "dlock_client_connections_rejected_total");
    expect(rejectedAfter - rejectedBefore).toBeGreaterThanOrEqual(
      test.cluster.nodes.length * (BAD_STREAMS.length + 1),
    );
  });

  it("keeps every node serving", async () => {
    await expectEveryNodeServing(test.cluster);
  });
});
