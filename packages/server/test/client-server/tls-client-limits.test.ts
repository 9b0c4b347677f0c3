// Over TLS the per-address limit also counts connections still in their TLS handshake (a flood
// of TCP connections that never handshake must not get past it), and a handshake that does not
// finish within the handshake timeout is cut.
import { connect as connectTcp } from "node:net";
import type { Socket } from "node:net";
import { connect } from "node:tls";
import { afterEach, beforeAll, expect, it } from "vitest";
import { ClientServer } from "../../src/client-server/client-server.js";
import { RawFrameSocket, waitFor } from "../transport/helpers.js";
import { makeTlsFixtures } from "../transport/tls-fixtures.js";
import type { TlsFixtures } from "../transport/tls-fixtures.js";

let fixtures: TlsFixtures;
beforeAll(() => {
  fixtures = makeTlsFixtures();
});

const servers: ClientServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startServer(handshakeTimeoutMs: number) {
  const limited: string[] = [];
  const server = new ClientServer({
    nodeId: "n1",
    clusterId: "c",
    listen: "127.0.0.1:0",
    tls: { ...fixtures.nodes.n1! },
    connectionsPerSourceMax: 2,
    handshakeTimeoutMs,
    handler: { handle: () => Promise.resolve({ ttlMs: 1_000 }) },
    metrics: {
      requestCompleted() {},
      connectionsChanged() {},
      connectionRejected() {},
      limitApplied: (limit) => limited.push(limit),
    },
  });
  servers.push(server);
  await server.start();
  return { port: server.address().port, limited };
}

/** A TCP connection that never starts its TLS handshake. */
async function silent(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connectTcp({ host: "127.0.0.1", port });
  sockets.push(socket);
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, closed };
}

/** A TLS client; resolves once it has the server's hello frame. */
async function tlsHello(port: number): Promise<boolean> {
  const socket = connect({
    host: "127.0.0.1",
    port,
    ca: fixtures.ca,
    checkServerIdentity: () => undefined,
  });
  sockets.push(socket);
  const raw = RawFrameSocket.wrap(socket);
  await waitFor(() => raw.frames.length > 0 || raw.closed, "a hello or a close");
  return raw.frames.length > 0;
}

it("counts TLS handshakes in progress against the per-address limit", async () => {
  const { port, limited } = await startServer(60_000);
  const first = await silent(port);
  await silent(port);
  const third = await silent(port);
  await third.closed; // Two handshakes already held by this address: cut at once.
  expect(limited).toEqual(["source_connections"]);
  first.socket.destroy();
  // Once the server has seen the close, a real client from the same address gets in.
  let served = false;
  for (let attempt = 0; attempt < 50 && !served; attempt++) served = await tlsHello(port);
  expect(served).toBe(true);
});

it("cuts a TLS handshake that does not finish within the handshake timeout", async () => {
  const { port } = await startServer(200);
  const quiet = await silent(port);
  await quiet.closed;
});
