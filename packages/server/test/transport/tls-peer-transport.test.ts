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

/** Node `id`'s own certificate of the cluster CA. */
const nodeTls = (id: string): TlsOptions => ({
  key: fixtures.nodes[id].key,
  cert: fixtures.nodes[id].cert,
  ca: fixtures.ca,
});

async function startNode(id: string, tls: TlsOptions, advertisedClientAddress?: string) {
  const logger = new RecordingLogger();
  const metrics = new RecordingTransportMetrics();
  const transport = new TcpPeerTransport({
    nodeId: id,
    clusterId: "tls-cluster",
    listen: "127.0.0.1:0",
    peers: {},
    reconnectDelayMsMin: 10,
    reconnectDelayMsMax: 100,
    tls,
    logger,
    metrics,
    ...(advertisedClientAddress === undefined ? {} : { advertisedClientAddress }),
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
    const n1 = await startNode("n1", nodeTls("n1"));
    const n2 = await startNode("n2", nodeTls("n2"));
    n1.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    n2.transport.send([heartbeat("n2", "n1", 1)]);
    await waitFor(() => n1.received.length === 1 && n2.received.length === 1, "both heartbeats");
    expect(n2.received[0]).toEqual(heartbeat("n1", "n2", 1));
  });

  it("refuses a node with a foreign certificate and a plain-TCP dialer, and keeps serving", async () => {
    const n2 = await startNode("n2", nodeTls("n2"));
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

    const n3 = await startNode("n3", nodeTls("n3"));
    n2.transport.setPeers({ n1: `127.0.0.1:${rogue.port}`, n3: `127.0.0.1:${n3.port}` });
    n3.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    n3.transport.send([heartbeat("n3", "n2", 2)]);
    await waitFor(() => n2.received.length === 1, "the genuine peer served");
    expect(n2.received[0].from).toBe("n3");
  });

  it("refuses a hello whose node id is not the one its valid certificate names, and keeps the real peer", async () => {
    const n1 = await startNode("n1", nodeTls("n1"), "127.0.0.1:7001");
    const n2 = await startNode("n2", nodeTls("n2"));
    n1.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(() => n2.received.length === 1, "the real n1's heartbeat");
    await waitFor(() => n2.transport.stats().n1.inboundConnected, "n1's connection identified");

    // n3's genuine certificate, and a client certificate of the same CA, both claiming to be n1.
    for (const [name, tls] of [
      ["n3's certificate", nodeTls("n3")],
      ["a client certificate", { ...fixtures.client, ca: fixtures.ca }],
    ] as const) {
      const impostor = await startNode("n1", tls, "203.0.113.9:7001");
      impostor.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
      impostor.transport.send([heartbeat("n1", "n2", 99)]);
      await waitFor(
        () =>
          impostor.logger.records.some((record) =>
            String(record.fields?.code).startsWith("HANDSHAKE_FAILED:nodeId"),
          ),
        `${name} refused`,
      );
      await impostor.transport.stop();
    }
    const refusals = n2.logger.records.filter(
      (record) => record.fields?.code === "HANDSHAKE_FAILED",
    );
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(String(refusals[0].fields?.reason)).toMatch(/certificate/);
    expect(n2.received.every((message) => message.term === 1)).toBe(true);
    expect(n2.transport.stats().n1.inboundConnected).toBe(true);
    expect(n2.transport.clientAddressOf("n1")).toBe("127.0.0.1:7001");

    // The real n1 still gets through on the connection it had.
    n1.transport.send([heartbeat("n1", "n2", 2)]);
    await waitFor(() => n2.received.some((message) => message.term === 2), "n1 still served");
  });

  it("a dialer refuses an acceptor that answers as the node it dialed with another node's certificate", async () => {
    const n1 = await startNode("n1", nodeTls("n1"));
    // It answers as n2, holding n3's genuine certificate.
    const impostor = await startNode("n2", nodeTls("n3"));
    impostor.transport.setPeers({ n1: "127.0.0.1:1" });
    n1.transport.setPeers({ n2: `127.0.0.1:${impostor.port}` });
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(
      () => n1.logger.records.some((record) => record.fields?.code === "HANDSHAKE_FAILED:nodeId"),
      "n1 refuses the impostor",
    );
    expect(n1.transport.stats().n2.state).not.toBe("open");
    expect(n1.metrics.connections).toEqual([]);
  });
});
