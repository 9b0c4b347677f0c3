import { connect } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "@dlock/raft";
import { TcpPeerTransport } from "../../src/transport/tcp-peer-transport.js";
import type { TlsOptions } from "../../src/transport/tls-options.js";
import { RecordingLogger, RecordingTransportMetrics, waitFor } from "./helpers.js";
import { makeTlsFixtures } from "./tls-fixtures.js";
import type { TlsFixtures } from "./tls-fixtures.js";

let fixtures: TlsFixtures;
beforeAll(() => {
  fixtures = makeTlsFixtures();
});

const transports: TcpPeerTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.stop()));
});

async function startNode(id: string, tls: TlsOptions) {
  const logger = new RecordingLogger();
  const metrics = new RecordingTransportMetrics();
  const transport = new TcpPeerTransport({
    nodeId: id,
    clusterId: "tls-cluster",
    listen: "127.0.0.1:0",
    peers: {},
    reconnectDelayMinMs: 10,
    reconnectDelayMaxMs: 100,
    tls,
    logger,
    metrics,
  });
  transports.push(transport);
  const received: Message[] = [];
  transport.onMessage((message) => received.push(message));
  await transport.start();
  return { transport, received, logger, metrics, port: transport.address().port };
}

const heartbeat = (from: string, to: string, term: number): Message => ({
  type: "heartbeat",
  from,
  to,
  term,
  commit: 0,
  readContext: 0,
});

describe("TcpPeerTransport over mutual TLS", () => {
  it("exchanges messages between nodes holding certificates of the cluster CA", async () => {
    const tls = { key: fixtures.key, cert: fixtures.cert, ca: fixtures.ca };
    const n1 = await startNode("n1", tls);
    const n2 = await startNode("n2", tls);
    n1.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    n2.transport.send([heartbeat("n2", "n1", 1)]);
    await waitFor(() => n1.received.length === 1 && n2.received.length === 1, "both heartbeats");
    expect(n2.received[0]).toEqual(heartbeat("n1", "n2", 1));
  });

  it("refuses a node with a foreign certificate and a plain-TCP dialer, and keeps serving", async () => {
    const tls = { key: fixtures.key, cert: fixtures.cert, ca: fixtures.ca };
    const n2 = await startNode("n2", tls);
    const rogue = await startNode("n1", {
      key: fixtures.foreignKey,
      cert: fixtures.foreignCert,
      ca: fixtures.ca,
    });
    n2.transport.setPeers({ n1: `127.0.0.1:${rogue.port}` });
    rogue.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    rogue.transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(
      () => n2.metrics.rejected.includes("TLS_HANDSHAKE_FAILED"),
      "the foreign certificate refused",
    );

    const plain = connect({ host: "127.0.0.1", port: n2.port });
    plain.on("error", () => {});
    plain.write(Buffer.from([0, 0, 0, 1, 0xc0]));
    await new Promise<void>((resolve) => plain.once("close", () => resolve()));
    expect(n2.received).toEqual([]);

    const n3 = await startNode("n3", tls);
    n2.transport.setPeers({ n1: `127.0.0.1:${rogue.port}`, n3: `127.0.0.1:${n3.port}` });
    n3.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    n3.transport.send([heartbeat("n3", "n2", 2)]);
    await waitFor(() => n2.received.length === 1, "the genuine peer served");
    expect(n2.received[0].from).toBe("n3");
  });
});
