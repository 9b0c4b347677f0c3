import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "@dlock/raft";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { FrameDecoder, FrameEncoder, PROTOCOL_VERSION } from "@dlock/protocol";
import { TcpPeerTransport } from "../../src/transport/tcp-peer-transport.js";
import type { TcpPeerTransportOptions } from "../../src/transport/peer-transport.js";
import { RawFrameSocket, RecordingLogger, RecordingTransportMetrics, waitFor } from "./helpers.js";

const CLUSTER = "test-cluster";
const transports: TcpPeerTransport[] = [];
const rawSockets: RawFrameSocket[] = [];

afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await Promise.all(transports.splice(0).map((transport) => transport.stop()));
});

interface Node {
  id: string;
  transport: TcpPeerTransport;
  received: Message[];
  logger: RecordingLogger;
  metrics: RecordingTransportMetrics;
  port: number;
}

async function startNode(
  id: string,
  overrides: Partial<TcpPeerTransportOptions> = {},
): Promise<Node> {
  const logger = new RecordingLogger();
  const metrics = new RecordingTransportMetrics();
  const transport = new TcpPeerTransport({
    nodeId: id,
    clusterId: CLUSTER,
    listen: "127.0.0.1:0",
    peers: {},
    reconnectDelayMsMin: 10,
    reconnectDelayMsMax: 100,
    logger,
    metrics,
    ...overrides,
  });
  transports.push(transport);
  const received: Message[] = [];
  transport.onMessage((message) => received.push(message));
  await transport.start();
  return { id, transport, received, logger, metrics, port: transport.address().port };
}

/** Tells every node the addresses of all the others. */
function wire(nodes: Node[]): void {
  const peers = Object.fromEntries(nodes.map((node) => [node.id, `127.0.0.1:${node.port}`]));
  for (const node of nodes) node.transport.setPeers(peers);
}

/** A deep copy with every Uint8Array (Buffer included) as a plain Uint8Array. */
function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, field]) => [key, plainBytes(field)]),
    );
  }
  return value;
}

const heartbeat = (from: string, to: string, term: number): Message => ({
  type: "heartbeat",
  from,
  to,
  term,
  commit: term,
  readContext: 0,
});

describe("TcpPeerTransport between live nodes", () => {
  it("delivers messages among three nodes, binary fields intact", async () => {
    const nodes = await Promise.all(["n1", "n2", "n3"].map((id) => startNode(id)));
    wire(nodes);
    const snapshotBytes = new Uint8Array(1024 * 1024);
    for (let i = 0; i < snapshotBytes.length; i++) snapshotBytes[i] = (i * 31) & 0xff;
    const append: Message = {
      type: "append",
      from: "n1",
      to: "n2",
      term: 4,
      prevIndex: 9,
      prevTerm: 3,
      commit: 9,
      entries: [
        { index: 10, term: 4, kind: "normal", data: new Uint8Array([0, 1, 2, 255]) },
        { index: 11, term: 4, kind: "noop", data: new Uint8Array() },
        {
          index: 12,
          term: 4,
          kind: "config",
          data: new Uint8Array(),
          change: { type: "addLearner", nodeId: "n4", context: new Uint8Array([7, 7]) },
        },
      ],
    };
    const snapshot: Message = {
      type: "snapshot",
      from: "n1",
      to: "n3",
      term: 4,
      metadata: { index: 12, term: 4, confState: { voters: ["n1", "n2", "n3"], learners: ["n4"] } },
      offset: 0,
      data: snapshotBytes,
      totalBytes: snapshotBytes.length,
      done: true,
    };
    nodes[0].transport.send([append, snapshot]);
    nodes[1].transport.send([heartbeat("n2", "n1", 4), heartbeat("n2", "n3", 4)]);
    nodes[2].transport.send([heartbeat("n3", "n1", 4), heartbeat("n3", "n2", 4)]);

    await waitFor(
      () =>
        nodes[0].received.length === 2 &&
        nodes[1].received.length === 2 &&
        nodes[2].received.length === 2,
      "every node to receive its two messages",
    );
    const toN2 = nodes[1].received.find((message) => message.type === "append");
    // msgpack hands binary back as Buffers (Uint8Array subclasses): compare as plain bytes.
    expect(plainBytes(toN2)).toEqual(plainBytes(append));
    if (toN2?.type !== "append") throw new Error("unreachable");
    expect(toN2.entries[0].data).toBeInstanceOf(Uint8Array);
    expect(Array.from(toN2.entries[0].data)).toEqual([0, 1, 2, 255]);
    expect(toN2.entries[2].change?.context).toBeInstanceOf(Uint8Array);
    const toN3 = nodes[2].received.find((message) => message.type === "snapshot");
    if (toN3?.type !== "snapshot") throw new Error("snapshot chunk not received");
    expect(toN3.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(toN3.data).equals(Buffer.from(snapshotBytes))).toBe(true);
    expect(toN3.metadata).toEqual(snapshot.metadata);
    expect(plainBytes(nodes[0].received)).toEqual(
      expect.arrayContaining([heartbeat("n2", "n1", 4), heartbeat("n3", "n1", 4)]),
    );
    expect(nodes[0].received.map((message) => message.from).sort()).toEqual(["n2", "n3"]);
  });

  it("sends everything queued in one event-loop turn to a peer as one frame, in order", async () => {
    const nodes = await Promise.all(["n1", "n2"].map((id) => startNode(id)));
    wire(nodes);
    // One message first so the link is open before the measured batch.
    nodes[0].transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(() => nodes[1].received.length === 1, "the first heartbeat");
    const framesBefore = nodes[0].metrics.frames.length;
    for (let term = 2; term <= 101; term++) nodes[0].transport.send([heartbeat("n1", "n2", term)]);
    await waitFor(() => nodes[1].received.length === 101, "100 more heartbeats");
    const frames = nodes[0].metrics.frames.slice(framesBefore);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ peer: "n2", messageCount: 100 });
    expect(nodes[1].received.map((message) => message.term)).toEqual(
      Array.from({ length: 101 }, (_, i) => i + 1),
    );
  });

  it("splits a turn's messages over several frames when one would exceed frameBytesMax", async () => {
    const frameBytesMax = 64 * 1024;
    const n1 = await startNode("n1", { frameBytesMax });
    const n2 = await startNode("n2", { frameBytesMax });
    wire([n1, n2]);
    const chunk = (offset: number): Message => ({
      type: "snapshot",
      from: "n1",
      to: "n2",
      term: 1,
      metadata: { index: 1, term: 1, confState: { voters: ["n1", "n2"], learners: [] } },
      offset,
      data: new Uint8Array(20_000).fill(offset & 0xff),
      totalBytes: 100_000,
      done: offset === 80_000,
    });
    n1.transport.send([0, 20_000, 40_000, 60_000, 80_000].map(chunk));
    await waitFor(() => n2.received.length === 5, "five snapshot chunks");
    expect(
      n2.received.map((message) => (message.type === "snapshot" ? message.offset : -1)),
    ).toEqual([0, 20_000, 40_000, 60_000, 80_000]);
    const frames = n1.metrics.frames.filter((frame) => frame.peer === "n2");
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(frame.bytes).toBeLessThanOrEqual(frameBytesMax + 4);
  });

  it("reconnects after the remote restarts and delivers what was queued meanwhile", async () => {
    const n1 = await startNode("n1");
    let n2 = await startNode("n2");
    const n2Port = n2.port;
    wire([n1, n2]);
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(() => n2.received.length === 1, "the first heartbeat");

    await n2.transport.stop();
    await waitFor(() => n1.transport.stats().n2.state !== "open", "n1 to notice n2 is gone");
    n1.transport.send([heartbeat("n1", "n2", 2), heartbeat("n1", "n2", 3)]);

    n2 = await startNode("n2", { listen: `127.0.0.1:${n2Port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    await waitFor(() => n2.received.length === 2, "the queued heartbeats after the restart");
    expect(n2.received.map((message) => message.term)).toEqual([2, 3]);
    n2.transport.send([heartbeat("n2", "n1", 3)]);
    await waitFor(() => n1.received.length === 1, "a reply over n2's own link");
    expect(
      n1.metrics.connections.filter((event) => event.peer === "n2").map((event) => event.connected),
    ).toEqual([true, false, true]);
  });

  it("redials a peer at once when it dials in, instead of waiting out the backoff", async () => {
    // A backoff far longer than the wait below: only the peer's own dial can bring the link up.
    const slow = { reconnectDelayMsMin: 120_000, reconnectDelayMsMax: 120_000 };
    const n1 = await startNode("n1", slow);
    let n2 = await startNode("n2");
    const n2Port = n2.port;
    wire([n1, n2]);
    await n2.transport.stop();
    await waitFor(() => n1.transport.stats().n2.state === "idle", "n1 to back off from n2");
    n1.transport.send([heartbeat("n1", "n2", 2)]);

    n2 = await startNode("n2", { listen: `127.0.0.1:${n2Port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    await waitFor(
      () => n2.received.length === 1,
      "n1's queued heartbeat once n2 dialed in",
      30_000,
    );
    expect(n2.received[0].term).toBe(2);
  });

  it("bounds the queue of an unreachable peer, dropping the oldest and counting drops", async () => {
    const n2 = await startNode("n2");
    const n2Port = n2.port;
    await n2.transport.stop();
    const n1 = await startNode("n1", { sendQueueMessagesMax: 10 });
    n1.transport.setPeers({ n2: `127.0.0.1:${n2Port}` });
    for (let term = 1; term <= 25; term++) n1.transport.send([heartbeat("n1", "n2", term)]);
    expect(n1.transport.stats().n2.droppedMessages).toBe(15);
    expect(n1.metrics.dropped.get("n2")).toBe(15);

    const restarted = await startNode("n2", { listen: `127.0.0.1:${n2Port}` });
    restarted.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    await waitFor(() => restarted.received.length === 10, "the ten newest heartbeats");
    expect(restarted.received.map((message) => message.term)).toEqual(
      Array.from({ length: 10 }, (_, i) => 16 + i),
    );
  });

  it("drops messages for peers removed at runtime and dials peers added at runtime", async () => {
    const nodes = await Promise.all(["n1", "n2", "n3"].map((id) => startNode(id)));
    const [n1, n2, n3] = nodes;
    wire([n1, n2]);
    n1.transport.send([heartbeat("n1", "n2", 1), heartbeat("n1", "n3", 1)]);
    await waitFor(() => n2.received.length === 1, "n2's heartbeat");
    expect(n1.transport.unknownPeerDroppedMessages).toBe(1);

    wire(nodes);
    n1.transport.send([heartbeat("n1", "n3", 2)]);
    await waitFor(() => n3.received.length === 1, "n3's heartbeat once added");

    n1.transport.setPeers({ n1: `127.0.0.1:${n1.port}`, n3: `127.0.0.1:${n3.port}` });
    expect(Object.keys(n1.transport.stats())).toEqual(["n3"]);
    n1.transport.send([heartbeat("n1", "n2", 3)]);
    expect(n1.transport.unknownPeerDroppedMessages).toBe(2);
  });
  it("accepts a former member's connection and messages without dialing it", async () => {
    // n3 was removed: n1 does not dial it, but n3 (which missed its removal) may still talk to
    // n1, whose Raft core may then want to tell it (and dial it through setPeers).
    const [n1, n3] = await Promise.all(["n1", "n3"].map((id) => startNode(id)));
    n3.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    n3.transport.send([heartbeat("n3", "n1", 1)]);
    await waitFor(() => n1.metrics.rejected.length >= 1, "n1 refusing n3 while it knows nothing");
    expect(n1.received).toEqual([]);
    n1.transport.setFormerPeers(["n3"]);
    n3.transport.send([heartbeat("n3", "n1", 2)]);
    await waitFor(() => n1.received.some((m) => m.term === 2), "n3's message once former");
    expect(n1.transport.stats()).toEqual({});
    n1.transport.setFormerPeers([]);
    n1.transport.setPeers({ n3: `127.0.0.1:${n3.port}` });
    n1.transport.send([heartbeat("n1", "n3", 3)]);
    await waitFor(() => n3.received.some((m) => m.term === 3), "n1 dialing n3 once a peer");
  });
});

describe("TcpPeerTransport handler registration", () => {
  it("stops delivering to a handler once it is unregistered", async () => {
    const n1 = await startNode("n1");
    const n2 = await startNode("n2");
    wire([n1, n2]);
    const late: Message[] = [];
    const unsubscribe = n2.transport.onMessage((message) => late.push(message));
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(() => late.length === 1, "delivery to the new handler");
    expect(n2.received).toEqual([]);
    unsubscribe();
    n1.transport.send([heartbeat("n1", "n2", 2)]);
    // Message 3 reaching a fresh handler means message 2 (sent before it on the same link) was
    // delivered to nobody or to the fresh handler, never to the unregistered one.
    const after: Message[] = [];
    n2.transport.onMessage((message) => after.push(message));
    n1.transport.send([heartbeat("n1", "n2", 3)]);
    await waitFor(
      () => after.some((message) => message.term === 3),
      "delivery after re-registering",
    );
    expect(late.map((message) => message.term)).toEqual([1]);
  });
});

describe("TcpPeerTransport refusing bad peers", () => {
  it("refuses a peer of another cluster, logging once however often it retries", async () => {
    const n1 = await startNode("n1", { clusterId: "other-cluster" });
    const n2 = await startNode("n2");
    n1.transport.setPeers({ n2: `127.0.0.1:${n2.port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}` });
    n1.transport.send([heartbeat("n1", "n2", 1)]);
    await waitFor(() => n2.metrics.rejected.length >= 4, "several refused attempts");
    expect(new Set(n2.metrics.rejected)).toEqual(new Set(["HANDSHAKE_FAILED"]));
    expect(n2.received).toEqual([]);
    const dialerWarnings = n1.logger.records.filter(
      (record) => record.level === "warn" && record.fields.peer === "n2",
    );
    expect(dialerWarnings).toHaveLength(1);
    expect(dialerWarnings[0].fields.code).toBe("HANDSHAKE_FAILED:clusterId");
    const acceptorWarnings = n2.logger.records.filter(
      (record) => record.message === "refused a peer connection",
    );
    expect(acceptorWarnings).toHaveLength(1);
    expect(acceptorWarnings[0].fields.reason).toContain("other-cluster");
  });

  it("refuses an unknown node id and a dialer that reached the wrong node", async () => {
    const n2 = await startNode("n2");
    n2.transport.setPeers({ n1: "127.0.0.1:1" });
    const stranger = await RawFrameSocket.open(n2.port);
    rawSockets.push(stranger);
    stranger.sendFrame({
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      clusterId: CLUSTER,
      role: "peer",
      nodeId: "n9",
    });
    expect(await stranger.nextFrame("an error frame")).toMatchObject({
      type: "error",
      id: null,
      error: { code: "HANDSHAKE_FAILED", reason: "nodeId" },
    });
    await stranger.waitClosed();

    // n1 believes n3 lives at n2's address: n2 accepts n1, but n1 sees the wrong id and hangs up.
    const n1 = await startNode("n1");
    n1.transport.setPeers({ n3: `127.0.0.1:${n2.port}` });
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}`, n3: "127.0.0.1:1" });
    n1.transport.send([heartbeat("n1", "n3", 1)]);
    await waitFor(
      () => n1.logger.records.some((record) => record.fields.code === "HANDSHAKE_FAILED"),
      "n1 to refuse the wrong node",
    );
    expect(n1.transport.stats().n3.state).not.toBe("open");
  });

  it("closes connections that send garbage, oversize lengths or malformed bodies, and keeps serving", async () => {
    const n1 = await startNode("n1");
    const n2 = await startNode("n2");
    wire([n1, n2]);
    // The raw sockets below say they are n3, a member with no process: had they said n1, each
    // would replace the real n1's inbound connection, and n1's redial would close them mid-test.
    n2.transport.setPeers({ n1: `127.0.0.1:${n1.port}`, n3: "127.0.0.1:1" });

    // Garbage instead of a hello: "GET " read as a length is far over frameBytesMax.
    const http = await RawFrameSocket.open(n2.port);
    rawSockets.push(http);
    http.sendBytes(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(await http.nextFrame()).toMatchObject({
      type: "error",
      error: { code: "FRAME_TOO_LARGE" },
    });
    await http.waitClosed();

    // A short frame whose body is not msgpack (0xc1 is never used by msgpack).
    const junk = await RawFrameSocket.open(n2.port);
    rawSockets.push(junk);
    junk.sendBytes(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    expect(await junk.nextFrame()).toMatchObject({
      type: "error",
      error: { code: "MALFORMED_FRAME" },
    });
    await junk.waitClosed();

    const hello = {
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      clusterId: CLUSTER,
      role: "peer",
      nodeId: "n3",
    };

    // After a good hello: a length over the limit.
    const oversize = await RawFrameSocket.open(n2.port);
    rawSockets.push(oversize);
    oversize.sendFrame(hello);
    expect(await oversize.nextFrame("n2's hello")).toMatchObject({ type: "hello", nodeId: "n2" });
    oversize.sendBytes(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(await oversize.nextFrame()).toMatchObject({
      type: "error",
      error: { code: "FRAME_TOO_LARGE" },
    });
    await oversize.waitClosed();

    // After a good hello: a raft frame with a mistyped field, then one with a spoofed sender.
    for (const bad of [
      { ...heartbeat("n3", "n2", 1), term: "one" },
      heartbeat("n1", "n2", 1),
      heartbeat("n3", "n9", 1),
    ]) {
      const malformed = await RawFrameSocket.open(n2.port);
      rawSockets.push(malformed);
      malformed.sendFrame(hello);
      await malformed.nextFrame("n2's hello");
      malformed.sendFrame({ type: "raft", messages: [heartbeat("n3", "n2", 1), bad] });
      expect(await malformed.nextFrame()).toMatchObject({
        type: "error",
        error: { code: "MALFORMED_FRAME" },
      });
      await malformed.waitClosed();
    }
    // A frame is refused whole: the good heartbeat in front of each bad one was not delivered.
    expect(n2.received).toEqual([]);
    expect(n2.metrics.rejected).toEqual([
      "FRAME_TOO_LARGE",
      "MALFORMED_FRAME",
      "FRAME_TOO_LARGE",
      "MALFORMED_FRAME",
      "MALFORMED_FRAME",
      "MALFORMED_FRAME",
    ]);

    // The listener still serves the real peer.
    n1.transport.send([heartbeat("n1", "n2", 5)]);
    await waitFor(() => n2.received.length === 1, "a real heartbeat after the bad input");
    expect(n2.received[0]).toEqual(heartbeat("n1", "n2", 5));
  });

  it("closes an inbound connection that never says hello", async () => {
    const n2 = await startNode("n2", { handshakeTimeoutMs: 50 });
    const silent = await RawFrameSocket.open(n2.port);
    rawSockets.push(silent);
    expect(await silent.nextFrame()).toMatchObject({
      type: "error",
      error: { code: "HANDSHAKE_FAILED", reason: "timeout" },
    });
    await silent.waitClosed();
  });
});

/** A fake n2 that completes the handshake and then never reads again (a SIGSTOPped process). */
async function startNonReadingPeer(): Promise<{
  port: number;
  accepted: Socket[];
  close(): Promise<void>;
}> {
  const accepted: Socket[] = [];
  const fake = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    const decoder = new FrameDecoder();
    socket.on("data", (chunk: Buffer) =>
      decoder.push(chunk, (frame) => {
        if ((frame as { type?: string }).type !== "hello") return;
        socket.write(
          new FrameEncoder().encode({
            type: "hello",
            protocolVersion: PROTOCOL_VERSION,
            clusterId: CLUSTER,
            role: "peer",
            nodeId: "n2",
          }),
        );
        socket.pause();
      }),
    );
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (fake.address() as AddressInfo).port,
    accepted,
    close: async () => {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    },
  };
}

function snapshotChunk(bytes: number): Message {
  return {
    type: "snapshot",
    from: "n1",
    to: "n2",
    term: 1,
    metadata: { index: 1, term: 1, confState: { voters: ["n1", "n2"], learners: [] } },
    offset: 0,
    data: new Uint8Array(bytes),
    totalBytes: bytes,
    done: false,
  };
}

describe("TcpPeerTransport send queue byte cap", () => {
  it("drops the link and its queue when a connected peer stops reading, and logs it once", async () => {
    const fake = await startNonReadingPeer();
    try {
      const capBytes = 16 * 1024 * 1024;
      const chunkBytes = 1024 * 1024;
      const n1 = await startNode("n1", {
        sendQueueBytesMax: capBytes,
        // Neither the stall timer nor the message cap may be what cuts the link here.
        writeStallTimeoutMs: 600_000,
        sendQueueMessagesMax: 100_000,
      });
      n1.transport.setPeers({ n2: `127.0.0.1:${fake.port}` });
      await waitFor(() => n1.transport.stats().n2.state === "open", "the handshake with the fake");
      // 1 MiB chunks, one per turn, until the link was dropped twice (three connections): the
      // bytes held for n2 never exceed the cap by more than the chunk that crossed it.
      const chunk = snapshotChunk(chunkBytes);
      let heldMax = 0;
      await waitFor(() => {
        n1.transport.send([chunk]);
        heldMax = Math.max(heldMax, n1.transport.stats().n2.queuedBytes);
        return fake.accepted.length >= 3;
      }, "two redials after overflows");
      expect(heldMax).toBeGreaterThan(0);
      expect(heldMax).toBeLessThanOrEqual(capBytes + chunkBytes + 1024);
      // Counted once per dropped link.
      expect(n1.metrics.overflows.length).toBeGreaterThanOrEqual(2);
      expect(n1.metrics.overflows.length).toBeLessThanOrEqual(fake.accepted.length);
      expect(n1.metrics.overflows.every((peer) => peer === "n2")).toBe(true);
      expect(n1.metrics.dropped.get("n2") ?? 0).toBeGreaterThan(0);
      const logged = n1.logger.records.filter((record) => record.fields.code === "SEND_QUEUE_FULL");
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        level: "warn",
        fields: { peer: "n2", sendQueueBytesMax: capBytes },
      });
    } finally {
      await fake.close();
    }
  });

  it("keeps at most sendQueueBytesMax queued for a peer that is down, dropping the oldest", async () => {
    const n1 = await startNode("n1", { sendQueueBytesMax: 4 * 1024 * 1024 });
    // Nothing listens there: the link never opens and every message waits in the queue.
    n1.transport.setPeers({ n2: "127.0.0.1:1" });
    for (let i = 0; i < 20; i++) n1.transport.send([snapshotChunk(1024 * 1024)]);
    const stats = n1.transport.stats().n2;
    expect(stats.queuedBytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(stats.queuedMessages).toBe(3);
    expect(stats.droppedMessages).toBe(17);
    expect(n1.metrics.overflows).toEqual([]);
  });
});

describe("TcpPeerTransport with a peer that stops reading", () => {
  it("stops writing past the socket limit, keeps the queue bounded, and redials a stalled link", async () => {
    const fake = await startNonReadingPeer();
    const { accepted } = fake;
    try {
      const n1 = await startNode("n1", {
        socketWritableBytesMax: 64 * 1024,
        writeStallTimeoutMs: 200,
        sendQueueMessagesMax: 8,
      });
      n1.transport.setPeers({ n2: `127.0.0.1:${fake.port}` });
      await waitFor(() => n1.transport.stats().n2.state === "open", "the handshake with the fake");
      const chunk: Message = {
        type: "snapshot",
        from: "n1",
        to: "n2",
        term: 1,
        metadata: { index: 1, term: 1, confState: { voters: ["n1", "n2"], learners: [] } },
        offset: 0,
        data: new Uint8Array(1024 * 1024),
        totalBytes: 1024 * 1024,
        done: false,
      };
      // Keep sending 1 MiB chunks, one turn at a time: once the kernel buffers are full the link
      // holds messages in its bounded queue, and with no drain for writeStallTimeoutMs it is cut
      // and dialed again.
      let queuedMax = 0;
      await waitFor(() => {
        n1.transport.send([chunk]);
        queuedMax = Math.max(queuedMax, n1.transport.stats().n2.queuedMessages);
        return accepted.length >= 2;
      }, "a redial after the stall");
      expect(queuedMax).toBeGreaterThan(0);
      expect(queuedMax).toBeLessThanOrEqual(8);
      expect(n1.transport.stats().n2.droppedMessages).toBeGreaterThan(0);
      expect(n1.logger.records.some((record) => record.fields.code === "WRITE_STALLED")).toBe(true);
    } finally {
      await fake.close();
    }
  });
});
