// The client port with an authenticator: a token in the hello or a verified TLS client
// certificate's CN decides the principal every request of the connection carries; anything else
// is refused at the handshake with UNAUTHENTICATED and the connection is closed.
import { connect as connectTcp } from "node:net";
import { connect } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "@dlock/protocol";
import type { ClientRequest } from "@dlock/protocol";
import { ClientServer } from "../../src/client-server/client-server.js";
import type { ClientRequestContext } from "../../src/client-server/client-request-handler.js";
import { parseAuthFile } from "../../src/auth/auth-file.js";
import { generateAuthToken, hashAuthToken } from "../../src/auth/auth-token.js";
import { Authenticator } from "../../src/auth/authenticator.js";
import type { TlsOptions } from "../../src/transport/tls-options.js";
import { RawFrameSocket } from "../transport/helpers.js";
import { makeTlsFixtures } from "../transport/tls-fixtures.js";
import type { TlsFixtures } from "../transport/tls-fixtures.js";

let fixtures: TlsFixtures;
const ciToken = generateAuthToken();
beforeAll(() => {
  fixtures = makeTlsFixtures();
});

const servers: ClientServer[] = [];
const sockets: RawFrameSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** A server whose handler answers each request with the principal it was called for. */
async function startServer(authFile: string, tls?: TlsOptions): Promise<number> {
  const authenticator = new Authenticator(parseAuthFile(authFile));
  const server = new ClientServer({
    nodeId: "n1",
    clusterId: "c",
    listen: "127.0.0.1:0",
    ...(tls === undefined ? {} : { tls }),
    authenticate: (credentials) => authenticator.authenticate(credentials),
    handler: {
      handle: (_request: ClientRequest, context: ClientRequestContext) =>
        Promise.resolve({ who: context.principal?.name ?? null } as never),
    },
  });
  servers.push(server);
  await server.start();
  return server.address().port;
}

const hello = (extra: object = {}) => ({
  type: "hello",
  protocolVersion: PROTOCOL_VERSION,
  clusterId: "c",
  role: "client",
  clientId: "t",
  ...extra,
});

async function openTcp(port: number): Promise<RawFrameSocket> {
  const raw = RawFrameSocket.wrap(connectTcp({ host: "127.0.0.1", port }));
  sockets.push(raw);
  expect(await raw.nextFrame("the server hello")).toMatchObject({ type: "hello" });
  return raw;
}

async function openTls(port: number): Promise<RawFrameSocket> {
  const socket = connect({
    host: "127.0.0.1",
    port,
    ca: fixtures.ca,
    key: fixtures.client.key,
    cert: fixtures.client.cert, // CN=alice
    checkServerIdentity: () => undefined,
  });
  const raw = RawFrameSocket.wrap(socket);
  sockets.push(raw);
  expect(await raw.nextFrame("the server hello")).toMatchObject({ type: "hello" });
  return raw;
}

describe("client authentication at the handshake", () => {
  const file = () => `ci ${hashAuthToken(ciToken)} lock:jobs/*\nalice - read:*\n`;

  it("gives the requests of a connection with a known token its principal", async () => {
    const client = await openTcp(await startServer(file()));
    client.sendFrame(hello({ authToken: ciToken }));
    client.sendFrame({ type: "status", id: 1 });
    expect(await client.nextFrame()).toMatchObject({ type: "ok", id: 1, result: { who: "ci" } });
  });

  it.each([
    ["an unknown token", { authToken: generateAuthToken() }],
    ["no credentials", {}],
  ])("refuses %s with UNAUTHENTICATED and closes, serving nothing", async (_what, extra) => {
    const client = await openTcp(await startServer(file()));
    client.sendFrame(hello(extra));
    client.sendFrame({ type: "status", id: 1 });
    expect(await client.nextFrame()).toMatchObject({
      type: "error",
      id: null,
      error: { code: "UNAUTHENTICATED" },
    });
    await client.waitClosed();
    expect(client.frames.filter((f) => (f as { type?: string }).type === "ok")).toEqual([]);
  });

  it("maps a verified client certificate's CN to the principal of that name", async () => {
    const tls = { ...fixtures.nodes.n1!, ca: fixtures.ca };
    const client = await openTls(await startServer(file(), tls));
    client.sendFrame(hello());
    client.sendFrame({ type: "status", id: 1 });
    expect(await client.nextFrame()).toMatchObject({
      type: "ok",
      id: 1,
      result: { who: "alice" },
    });
  });

  it("refuses a verified certificate whose CN names no principal", async () => {
    const tls = { ...fixtures.nodes.n1!, ca: fixtures.ca };
    const client = await openTls(await startServer(`ci ${hashAuthToken(ciToken)} read\n`, tls));
    client.sendFrame(hello());
    expect(await client.nextFrame()).toMatchObject({
      type: "error",
      id: null,
      error: { code: "UNAUTHENTICATED", message: expect.stringContaining("alice") },
    });
  });
});
