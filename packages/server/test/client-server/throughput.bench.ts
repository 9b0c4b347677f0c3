// Throughput of the client-facing server alone (handler answers at once), to see what the
// network layer costs per request. Run: npx vitest bench --run packages/server/test/client-server
// Not a test: it asserts nothing and is not part of `vitest run`.
import { connect } from "node:net";
import { bench, describe } from "vitest";
import { FrameDecoder, FrameEncoder, PROTOCOL_VERSION } from "@dlock/protocol";
import { ClientServer } from "../../src/client-server/client-server.js";
import type { ClientResult } from "../../src/client-server/client-request-handler.js";

const REQUESTS_PER_ITERATION = 20_000;
const CONNECTIONS = 4;
const RESULT: ClientResult = { fencingToken: 42, ttlMs: 10_000, waitedMs: 0 };

const server = new ClientServer({
  nodeId: "n1",
  clusterId: "bench",
  listen: "127.0.0.1:0",
  handler: { handle: () => Promise.resolve(RESULT) },
  // The network layer's cost, not the per-connection rate limit's refusals.
  connectionRequestsPerSecond: 1_000_000_000,
  connectionRequestBurst: 1_000_000_000,
});
await server.start();
const port = server.address().port;

interface BenchClient {
  send(count: number, offset: number): void;
  done(): Promise<void>;
}

async function openClient(): Promise<BenchClient> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const encoder = new FrameEncoder();
  const decoder = new FrameDecoder();
  let expected = 0;
  let received = 0;
  let waiter: (() => void) | null = null;
  socket.on("data", (chunk: Buffer) =>
    decoder.push(chunk, () => {
      received++;
      if (received === expected && waiter) waiter();
    }),
  );
  socket.write(
    encoder.encode({
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      clusterId: "bench",
      role: "client",
      clientId: "b",
    }),
  );
  expected = 1;
  await new Promise<void>((resolve) => (waiter = resolve));
  return {
    send(count, offset) {
      received = 0;
      expected = count;
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        frames.push(
          encoder.encode({
            type: "acquire",
            id: offset + i + 1,
            key: `key-${i % 64}`,
            value: "holder-value",
            ttlMs: 10_000,
            requestId: `req-${i}`,
          }),
        );
      }
      socket.write(Buffer.concat(frames));
    },
    done: () =>
      new Promise<void>((resolve) => (received === expected ? resolve() : (waiter = resolve))),
  };
}

const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => openClient()));

describe("client server, handler answering at once", () => {
  bench(
    `${REQUESTS_PER_ITERATION} pipelined acquires over ${CONNECTIONS} connections`,
    async () => {
      const share = REQUESTS_PER_ITERATION / CONNECTIONS;
      for (const client of clients) client.send(share, 0);
      await Promise.all(clients.map((client) => client.done()));
    },
    { iterations: 20, warmupIterations: 3 },
  );
});
