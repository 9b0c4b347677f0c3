import { connect } from "node:tls";
import type { ConnectionOptions } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "@dlock/protocol";
import { ClientServer } from "../../src/client-server/client-server.js";
import type { TlsOptions } from "../../src/transport/tls-options.js";
import { RawFrameSocket, waitFor } from "../transport/helpers.js";
import { makeTlsFixtures } from "../transport/tls-fixtures.js";
import type { TlsFixtures } from "../transport/tls-fixtures.js";

let fixtures: TlsFixtures;
beforeAll(() => {
  fixtures = makeTlsFixtures();
});

const servers: ClientServer[] = [];
const sockets: RawFrameSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startServer(tls: TlsOptions) {
  const server = new ClientServer({
    nodeId: "n1",
    clusterId: "c",
    listen: "127.0.0.1:0",
    tls,
    handler: { handle: () => Promise.resolve({ ttlMs: 1_000 }) },
  });
  servers.push(server);
  await server.start();
  return server.address().port;
}

async function openTls(port: number, options: ConnectionOptions): Promise<RawFrameSocket> {
  const socket = connect({
    host: "127.0.0.1",
    port,
    checkServerIdentity: () => undefined,
    ...options,
  });
  const raw = RawFrameSocket.wrap(socket);
  sockets.push(raw);
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
  });
  return raw;
}

const hello = {
  type: "hello",
  protocolVersion: PROTOCOL_VERSION,
  clusterId: "c",
  role: "client",
  clientId: "t",
};

describe("ClientServer over TLS", () => {
  it("serves a client that trusts the server's CA", async () => {
    const port = await startServer({ key: fixtures.nodes.n1.key, cert: fixtures.nodes.n1.cert });
    const client = await openTls(port, { ca: fixtures.ca });
    expect(await client.nextFrame("the server hello")).toMatchObject({
      type: "hello",
      nodeId: "n1",
    });
    client.sendFrame(hello);
    client.sendFrame({ type: "refresh", id: 1, key: "k", value: "v", token: 3, ttlMs: 1_000 });
    expect(await client.nextFrame()).toEqual({ type: "ok", id: 1, result: { ttlMs: 1_000 } });
  });

  it("with a CA configured, refuses clients without a certificate it signed", async () => {
    const port = await startServer({
      key: fixtures.nodes.n1.key,
      cert: fixtures.nodes.n1.cert,
      ca: fixtures.ca,
    });
    const anonymous = RawFrameSocket.wrap(
      connect({ host: "127.0.0.1", port, ca: fixtures.ca, checkServerIdentity: () => undefined }),
    );
    sockets.push(anonymous);
    await anonymous.waitClosed();
    expect(anonymous.frames).toEqual([]);

    const client = await openTls(port, {
      ca: fixtures.ca,
      key: fixtures.nodes.n1.key,
      cert: fixtures.nodes.n1.cert,
    });
    expect(await client.nextFrame("the server hello")).toMatchObject({ type: "hello" });
    client.sendFrame(hello);
    client.sendFrame({ type: "status", id: 1 });
    await waitFor(() => client.frames.length === 2, "the answer");
  });
});

describe("ClientServer over TLS with client certificates requested", () => {
  it("lets a client without a certificate in and refuses one whose certificate another CA signed", async () => {
    const server = new ClientServer({
      nodeId: "n1",
      clusterId: "c",
      listen: "127.0.0.1:0",
      tls: { key: fixtures.nodes.n1.key, cert: fixtures.nodes.n1.cert, ca: fixtures.ca },
      clientCertificates: "request",
      handler: { handle: () => Promise.resolve({ ttlMs: 1_000 }) },
    });
    servers.push(server);
    await server.start();
    const port = server.address().port;

    const anonymous = await openTls(port, { ca: fixtures.ca });
    expect(await anonymous.nextFrame("the server hello")).toMatchObject({ type: "hello" });

    const withClientCertificate = await openTls(port, {
      ca: fixtures.ca,
      key: fixtures.client.key,
      cert: fixtures.client.cert,
    });
    expect(await withClientCertificate.nextFrame("the server hello")).toMatchObject({
      type: "hello",
    });

    const forged = RawFrameSocket.wrap(
      connect({
        host: "127.0.0.1",
        port,
        ca: fixtures.ca,
        key: fixtures.foreignKey,
        cert: fixtures.foreignCert,
        checkServerIdentity: () => undefined,
      }),
    );
    sockets.push(forged);
    await forged.waitClosed();
    expect(forged.frames).toEqual([]);
  });
});
