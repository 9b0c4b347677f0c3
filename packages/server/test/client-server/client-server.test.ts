import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameEncoder, LockBusyError, NotLeaderError, PROTOCOL_VERSION } from "@dlock/protocol";
import type { ClientRequest } from "@dlock/protocol";
import { LockStateMachine } from "@dlock/server/lock";
import { ClientServer } from "../../src/client-server/client-server.js";
import type {
  ClientRequestContext,
  ClientRequestHandler,
  ClientResult,
} from "../../src/client-server/client-request-handler.js";
import type { ClientServerOptions } from "../../src/client-server/client-server-options.js";
import type { ClientServerMetrics } from "../../src/client-server/client-server-metrics.js";
import { RawFrameSocket, RecordingLogger, waitFor } from "../transport/helpers.js";

const CLUSTER = "test-cluster";

interface Call {
  request: ClientRequest;
  context: ClientRequestContext;
  resolve(result: ClientResult): void;
  reject(error: unknown): void;
}

/** A handler whose calls stay pending until the test settles them. */
class DeferredHandler implements ClientRequestHandler {
  readonly calls: Call[] = [];
  readonly closedConnections: number[] = [];
  handle(request: ClientRequest, context: ClientRequestContext): Promise<ClientResult> {
    return new Promise((resolve, reject) => this.calls.push({ request, context, resolve, reject }));
  }
  connectionClosed(connectionId: number): void {
    this.closedConnections.push(connectionId);
  }
  call(id: number): Call {
    const call = this.calls.find((candidate) => candidate.request.id === id);
    if (call === undefined) throw new Error(`no call for request ${id}`);
    return call;
  }
}

class RecordingMetrics implements ClientServerMetrics {
  completed: { type: string; result: string }[] = [];
  connections = 0;
  rejected: string[] = [];
  limited: string[] = [];
  requestCompleted(type: string, result: string): void {
    this.completed.push({ type, result });
  }
  connectionsChanged(delta: number): void {
    this.connections += delta;
  }
  connectionRejected(reason: string): void {
    this.rejected.push(reason);
  }
  limitApplied(limit: string): void {
    this.limited.push(limit);
  }
}

const servers: ClientServer[] = [];
const sockets: RawFrameSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startServer(
  handler: ClientRequestHandler,
  overrides: Partial<ClientServerOptions> = {},
) {
  const metrics = new RecordingMetrics();
  let clock = 1_000;
  const server = new ClientServer({
    nodeId: "n1",
    clusterId: CLUSTER,
    listen: "127.0.0.1:0",
    handler,
    metrics,
    nowMs: () => clock++,
    ...overrides,
  });
  servers.push(server);
  await server.start();
  return { server, metrics, port: server.address().port };
}

const clientHello = (clusterId: string | null = CLUSTER, role = "client") => ({
  type: "hello",
  protocolVersion: PROTOCOL_VERSION,
  clusterId,
  role,
  clientId: "client-1",
});

/** Opens a connection, checks the server hello and sends ours. */
async function connectClient(port: number): Promise<RawFrameSocket> {
  const socket = await RawFrameSocket.open(port);
  sockets.push(socket);
  expect(await socket.nextFrame("the server hello")).toEqual({
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId: CLUSTER,
    role: "client",
    nodeId: "n1",
  });
  socket.sendFrame(clientHello());
  return socket;
}

const acquire = (id: number, overrides: Record<string, unknown> = {}) => ({
  type: "acquire",
  id,
  key: `key-${id}`,
  value: "holder",
  ttlMs: 10_000,
  requestId: `r-${id}`,
  ...overrides,
});

const acquireResult = (token: number): ClientResult => ({
  fencingToken: token,
  ttlMs: 10_000,
  waitedMs: 0,
});

describe("ClientServer pipelining", () => {
  it("serves many requests in flight on one connection and answers in completion order", async () => {
    const handler = new DeferredHandler();
    const { port, metrics } = await startServer(handler);
    const client = await connectClient(port);
    client.sendFrame(acquire(1));
    client.sendFrame(acquire(2));
    client.sendFrame({ type: "get", id: 3, key: "key-1" });
    await waitFor(() => handler.calls.length === 3, "three requests at the handler");

    const [first, second, third] = handler.calls;
    expect(first.request).toEqual(acquire(1));
    expect(third.request).toEqual({ type: "get", id: 3, key: "key-1" });
    expect(first.context.clientId).toBe("client-1");
    expect(second.context.connectionId).toBe(first.context.connectionId);
    expect(typeof first.context.receivedAtMs).toBe("number");

    handler
      .call(3)
      .resolve({ held: true, value: "holder", fencingToken: 7, ttlRemainingMs: 900, waiters: 0 });
    expect(await client.nextFrame()).toEqual({
      type: "ok",
      id: 3,
      result: { held: true, value: "holder", fencingToken: 7, ttlRemainingMs: 900, waiters: 0 },
    });
    handler.call(1).resolve(acquireResult(11));
    handler.call(2).reject(new LockBusyError("key-2"));
    expect(await client.nextFrame()).toEqual({ type: "ok", id: 1, result: acquireResult(11) });
    expect(await client.nextFrame()).toMatchObject({
      type: "error",
      id: 2,
      error: { code: "LOCK_BUSY", key: "key-2" },
    });
    expect(metrics.completed).toEqual([
      { type: "get", result: "ok" },
      { type: "acquire", result: "ok" },
      { type: "acquire", result: "LOCK_BUSY" },
    ]);
  });

  it("answers every request resolved in one turn, all of them, with their own ids", async () => {
    const handler = new DeferredHandler();
    const { port } = await startServer(handler);
    const client = await connectClient(port);
    for (let id = 1; id <= 200; id++) client.sendFrame(acquire(id));
    await waitFor(() => handler.calls.length === 200, "200 requests at the handler");
    for (const call of [...handler.calls].reverse()) call.resolve(acquireResult(call.request.id));
    const answers: unknown[] = [];
    for (let i = 0; i < 200; i++) answers.push(await client.nextFrame());
    expect(answers).toEqual(
      Array.from({ length: 200 }, (_, i) => ({
        type: "ok",
        id: 200 - i,
        result: acquireResult(200 - i),
      })),
    );
  });

  it("carries typed errors: a leader hint for NOT_LEADER, INTERNAL for anything untyped", async () => {
    const handler: ClientRequestHandler = {
      handle(request) {
        if (request.id === 1)
          return Promise.reject(new NotLeaderError({ id: "n2", clientAddress: "10.0.0.2:7001" }));
        if (request.id === 2) return Promise.reject(new Error("disk on fire"));
        throw new Error("synchronous bug");
      },
    };
    const { port } = await startServer(handler);
    const client = await connectClient(port);
    client.sendFrame({ type: "status", id: 1 });
    client.sendFrame({ type: "status", id: 2 });
    client.sendFrame({ type: "status", id: 3 });
    const answers = [await client.nextFrame(), await client.nextFrame(), await client.nextFrame()];
    expect(answers).toContainEqual({
      type: "error",
      id: 1,
      error: expect.objectContaining({
        code: "NOT_LEADER",
        leaderHint: { id: "n2", clientAddress: "10.0.0.2:7001" },
      }),
    });
    expect(answers).toContainEqual({
      type: "error",
      id: 2,
      error: expect.objectContaining({ code: "INTERNAL" }),
    });
    expect(answers).toContainEqual({
      type: "error",
      id: 3,
      error: expect.objectContaining({ code: "INTERNAL" }),
    });
    client.sendFrame({ type: "status", id: 4 });
    expect(await client.nextFrame()).toMatchObject({ id: 4, error: { code: "INTERNAL" } });
  });
});

describe("ClientServer limits", () => {
  it("refuses requests over the per-connection in-flight limit with TOO_MANY_REQUESTS", async () => {
    const handler = new DeferredHandler();
    const { port } = await startServer(handler, {
      connectionInFlightRequestsMax: 2,
      retryAfterMs: 25,
    });
    const client = await connectClient(port);
    client.sendFrame(acquire(1));
    client.sendFrame(acquire(2));
    client.sendFrame(acquire(3));
    expect(await client.nextFrame()).toEqual({
      type: "error",
      id: 3,
      error: expect.objectContaining({ code: "TOO_MANY_REQUESTS", retryAfterMs: 25 }),
    });
    expect(handler.calls).toHaveLength(2);
    handler.call(1).resolve(acquireResult(1));
    expect(await client.nextFrame()).toMatchObject({ type: "ok", id: 1 });
    client.sendFrame(acquire(4));
    await waitFor(() => handler.calls.length === 3, "request 4 accepted once a slot freed");
  });

  it("refuses requests over the server-wide in-flight limit with OVERLOADED", async () => {
    const handler = new DeferredHandler();
    const { port, server } = await startServer(handler, { serverInFlightRequestsMax: 2 });
    const first = await connectClient(port);
    const second = await connectClient(port);
    first.sendFrame(acquire(1));
    second.sendFrame(acquire(1));
    await waitFor(() => handler.calls.length === 2, "two requests in flight");
    second.sendFrame(acquire(2));
    expect(await second.nextFrame()).toMatchObject({
      type: "error",
      id: 2,
      error: { code: "OVERLOADED" },
    });
    expect(server.inFlightRequests).toBe(2);
    const firstCall = handler.calls.find((call) => call.context.connectionId === 1);
    firstCall?.resolve(acquireResult(1));
    expect(await first.nextFrame()).toMatchObject({ type: "ok", id: 1 });
    expect(server.inFlightRequests).toBe(1);
  });

  it("refuses connections beyond connectionsMax with OVERLOADED and reports closed connections", async () => {
    const handler = new DeferredHandler();
    const { port, server, metrics } = await startServer(handler, { connectionsMax: 2 });
    const first = await connectClient(port);
    await connectClient(port);
    const third = await RawFrameSocket.open(port);
    sockets.push(third);
    expect(await third.nextFrame()).toMatchObject({
      type: "error",
      id: null,
      error: { code: "OVERLOADED" },
    });
    await third.waitClosed();
    expect(metrics.rejected).toContain("OVERLOADED");

    first.destroy();
    await waitFor(() => server.connectionCount === 1, "the first connection to close");
    expect(handler.closedConnections).toEqual([1]);
    const fourth = await connectClient(port);
    fourth.sendFrame({ type: "status", id: 1 });
    await waitFor(() => handler.calls.length === 1, "the new connection served");
    // Refused connections never got an id: the new one is the third accepted.
    expect(handler.calls[0].context.connectionId).toBe(3);
  });
});

describe("ClientServer bad input", () => {
  it("answers a bad field with INVALID_ARGUMENT for that request and keeps the connection", async () => {
    const handler = new DeferredHandler();
    const { port, metrics } = await startServer(handler, {
      durationLimits: { limits: { ttlMsMin: 500, ttlMsMax: 60_000, waitMsMax: 30_000 } },
    });
    const client = await connectClient(port);
    const cases: [Record<string, unknown>, string][] = [
      [acquire(1, { key: "k".repeat(10_000) }), "key"],
      [acquire(2, { value: "" }), "value"],
      [acquire(3, { ttlMs: 100 }), "ttlMs"],
      [acquire(4, { ttlMs: 120_000 }), "ttlMs"],
      [acquire(5, { ttlMs: 1.5 }), "ttlMs"],
      [acquire(6, { waitMs: 60_000 }), "waitMs"],
      [{ type: "refresh", id: 7, key: "k", value: "v", token: 0, ttlMs: 1_000 }, "token"],
      [{ type: "teleport", id: 8 }, "type"],
    ];
    for (const [request] of cases) client.sendFrame(request);
    for (const [request, field] of cases) {
      expect(await client.nextFrame()).toMatchObject({
        type: "error",
        id: request.id,
        error: { code: "INVALID_ARGUMENT", field },
      });
    }
    expect(handler.calls).toEqual([]);
    expect(metrics.completed.filter((entry) => entry.result === "INVALID_ARGUMENT")).toHaveLength(
      8,
    );
    client.sendFrame(acquire(9));
    await waitFor(() => handler.calls.length === 1, "a good request after the bad ones");
    expect(client.closed).toBe(false);
  });

  it("checks ttlMs and waitMs against the replicated limits in force, not this node's flags", async () => {
    // This node's flags say ttlMs ≤ 60 s and waitMs ≤ 30 s; the leader's setLimits entries said
    // 120 s and 90 s, then 20 s and 10 s.
    const limits = (ttlMsMax: number, waitMsMax: number) => ({
      electionTimeoutMs: 100,
      ttlMsMin: 500,
      ttlMsMax,
      waitMsMax,
    });
    const table = new LockStateMachine({ limits: limits(60_000, 30_000) });
    const proposal = (ttlMsMax: number, waitMsMax: number) =>
      new LockStateMachine({ limits: limits(ttlMsMax, waitMsMax) }).limitsProposal()!;
    table.apply(1, proposal(120_000, 90_000));
    const handler = new DeferredHandler();
    const { port } = await startServer(handler, { durationLimits: table });
    const client = await connectClient(port);
    client.sendFrame(acquire(1, { ttlMs: 100_000, waitMs: 80_000 }));
    await waitFor(() => handler.calls.length === 1, "an acquire within the replicated limits");
    table.apply(2, proposal(20_000, 10_000));
    const cases: [Record<string, unknown>, string, string][] = [
      [acquire(2, { ttlMs: 30_000 }), "ttlMs", "between 500 and 20000 ms"],
      [acquire(3, { waitMs: 15_000 }), "waitMs", "at most 10000 ms"],
      [{ type: "refresh", id: 4, key: "k", value: "v", token: 1, ttlMs: 30_000 }, "ttlMs", "20000"],
    ];
    for (const [request] of cases) client.sendFrame(request);
    for (const [request, field, says] of cases) {
      expect(await client.nextFrame()).toMatchObject({
        type: "error",
        id: request.id,
        error: { code: "INVALID_ARGUMENT", field, message: expect.stringContaining(says) },
      });
    }
    expect(handler.calls).toHaveLength(1);
  });

  async function expectClosedWith(
    port: number,
    send: (socket: RawFrameSocket) => void,
    error: Record<string, unknown>,
  ) {
    const socket = await RawFrameSocket.open(port);
    sockets.push(socket);
    send(socket);
    const frames: unknown[] = [];
    for (;;) {
      const frame = await socket.nextFrame("an error frame").catch(() => null);
      if (frame === null) break;
      frames.push(frame);
      if ((frame as { type: string }).type === "error") break;
    }
    expect(frames.at(-1)).toMatchObject({ type: "error", id: null, error });
    await socket.waitClosed();
  }

  it("closes connections that send garbage, oversize or malformed frames or a bad hello, and keeps serving", async () => {
    const handler = new DeferredHandler();
    const logger = new RecordingLogger();
    const { port, metrics } = await startServer(handler, { frameBytesMax: 1024, logger });
    await expectClosedWith(
      port,
      (socket) => socket.sendBytes(Buffer.from("GET / HTTP/1.1\r\n\r\n")),
      {
        code: "FRAME_TOO_LARGE",
      },
    );
    await expectClosedWith(
      port,
      (socket) => socket.sendBytes(Buffer.from([0, 0, 0, 2, 0xc1, 0xc1])),
      {
        code: "MALFORMED_FRAME",
      },
    );
    await expectClosedWith(port, (socket) => socket.sendFrame(clientHello("another-cluster")), {
      code: "HANDSHAKE_FAILED",
      reason: "clusterId",
    });
    await expectClosedWith(port, (socket) => socket.sendFrame(clientHello(CLUSTER, "peer")), {
      code: "HANDSHAKE_FAILED",
      reason: "role",
    });
    await expectClosedWith(
      port,
      (socket) => socket.sendFrame({ ...clientHello(), protocolVersion: 99 }),
      {
        code: "HANDSHAKE_FAILED",
        reason: "protocolVersion",
      },
    );
    await expectClosedWith(port, (socket) => socket.sendFrame(acquire(1)), {
      code: "HANDSHAKE_FAILED",
      reason: "malformed",
    });
    await expectClosedWith(
      port,
      (socket) => {
        socket.sendFrame(clientHello());
        socket.sendFrame({ type: "acquire", key: "no id" });
      },
      { code: "MALFORMED_FRAME" },
    );
    await expectClosedWith(
      port,
      (socket) => {
        socket.sendFrame(clientHello());
        socket.sendFrame({ type: "status", id: 1, padding: "x".repeat(2_000) });
      },
      { code: "FRAME_TOO_LARGE", frameBytesMax: 1024 },
    );
    await expectClosedWith(
      port,
      (socket) => {
        socket.sendFrame(clientHello());
        socket.sendBytes(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      },
      { code: "FRAME_TOO_LARGE" },
    );
    expect(metrics.rejected).toEqual([
      "FRAME_TOO_LARGE",
      "MALFORMED_FRAME",
      "HANDSHAKE_FAILED",
      "HANDSHAKE_FAILED",
      "HANDSHAKE_FAILED",
      "HANDSHAKE_FAILED",
      "MALFORMED_FRAME",
      "FRAME_TOO_LARGE",
      "FRAME_TOO_LARGE",
    ]);
    expect(handler.calls).toEqual([]);
    // Logged once per source address and reason, however many times it happens.
    const warnings = logger.records.filter((record) => record.level === "warn");
    expect(warnings.map((record) => record.fields.code)).toEqual([
      "FRAME_TOO_LARGE",
      "MALFORMED_FRAME",
      "HANDSHAKE_FAILED",
    ]);

    const client = await connectClient(port);
    client.sendFrame({ type: "status", id: 1 });
    await waitFor(() => handler.calls.length === 1, "a good client served after the bad ones");
  });

  it("accepts a client hello without a cluster id (the client learns it from ours)", async () => {
    const handler = new DeferredHandler();
    const { port } = await startServer(handler);
    const socket = await RawFrameSocket.open(port);
    sockets.push(socket);
    await socket.nextFrame("the server hello");
    socket.sendFrame(clientHello(null));
    socket.sendFrame({ type: "status", id: 1 });
    await waitFor(() => handler.calls.length === 1, "the request");
  });
});

describe("ClientServer timeouts and stop", () => {
  it("closes a connection that never says hello", async () => {
    const { port } = await startServer(new DeferredHandler(), { handshakeTimeoutMs: 50 });
    const socket = await RawFrameSocket.open(port);
    sockets.push(socket);
    await socket.nextFrame("the server hello");
    expect(await socket.nextFrame()).toMatchObject({
      error: { code: "HANDSHAKE_FAILED", reason: "timeout" },
    });
    await socket.waitClosed();
  });

  it("closes idle connections, but not one waiting on a request", async () => {
    const handler = new DeferredHandler();
    const { port } = await startServer(handler, { idleTimeoutMs: 40 });
    const idle = await connectClient(port);
    await idle.waitClosed();

    const waiting = await connectClient(port);
    waiting.sendFrame(acquire(1, { waitMs: 60_000 }));
    await waitFor(() => handler.calls.length === 1, "the queued acquire");
    // Several idle periods pass while the acquire waits: the connection must stay.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(waiting.closed).toBe(false);
    handler.calls[0].resolve(acquireResult(3));
    expect(await waiting.nextFrame()).toMatchObject({ type: "ok", id: 1 });
    await waiting.waitClosed();
  });

  it("stop() answers requests in flight, then closes connections and the listener", async () => {
    const handler = new DeferredHandler();
    const { port, server } = await startServer(handler);
    const client = await connectClient(port);
    client.sendFrame(acquire(1));
    await waitFor(() => handler.calls.length === 1, "the request in flight");
    const stopped = server.stop();
    handler.calls[0].resolve(acquireResult(5));
    await stopped;
    expect(await client.nextFrame()).toMatchObject({ type: "ok", id: 1 });
    await client.waitClosed();
    expect(handler.closedConnections).toEqual([1]);
    await expect(RawFrameSocket.open(port)).rejects.toThrow();
  });
});

describe("ClientServer with a client that stops reading", () => {
  it("closes the connection instead of buffering answers without bound", async () => {
    const big = "v".repeat(60_000);
    const handler: ClientRequestHandler = {
      handle: () =>
        Promise.resolve({ held: true, value: big, fencingToken: 1, ttlRemainingMs: 1, waiters: 0 }),
    };
    const { port, metrics } = await startServer(handler, { socketWritableBytesMax: 256 * 1024 });
    const client = await connectClient(port);
    client.socket.pause();
    // 600 answers of 60 kB (36 MB) cannot all sit in kernel buffers of a reader that never reads.
    for (let id = 1; id <= 600; id++) client.sendFrame({ type: "get", id, key: "k" });
    await waitFor(
      () => metrics.rejected.includes("SLOW_CONSUMER"),
      "the server to give up on the client",
    );
    client.socket.resume();
    await client.waitClosed();
  });
});

/** Opens a raw connection from another loopback address (a second source). */
async function openFrom(localAddress: string, port: number): Promise<RawFrameSocket> {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const raw = RawFrameSocket.wrap(socket);
  sockets.push(raw);
  return raw;
}

describe("ClientServer fairness between sources", () => {
  it("refuses a source's connections beyond connectionsPerSourceMax, not another source's", async () => {
    const { port, metrics } = await startServer(new DeferredHandler(), {
      connectionsPerSourceMax: 2,
      retryAfterMs: 40,
    });
    await connectClient(port);
    await connectClient(port);
    const third = await RawFrameSocket.open(port);
    sockets.push(third);
    expect(await third.nextFrame()).toMatchObject({
      type: "error",
      id: null,
      error: { code: "OVERLOADED", retryAfterMs: 40 },
    });
    await third.waitClosed();
    expect(metrics.limited).toEqual(["source_connections"]);
    const other = await openFrom("127.0.0.2", port);
    expect(await other.nextFrame()).toMatchObject({ type: "hello" });
    expect(other.closed).toBe(false);
  });

  it("keeps the last quarter of connectionsMax for sources holding few connections", async () => {
    const { port, metrics, server } = await startServer(new DeferredHandler(), {
      connectionsMax: 8,
    });
    // 6 of 8 are open to anyone; one source holding 4 or more gets none of the last 2.
    for (let i = 0; i < 6; i++) await connectClient(port);
    const seventh = await RawFrameSocket.open(port);
    sockets.push(seventh);
    expect(await seventh.nextFrame()).toMatchObject({ error: { code: "OVERLOADED" } });
    expect(metrics.limited).toEqual(["connections"]);
    const other = await openFrom("127.0.0.3", port);
    expect(await other.nextFrame()).toMatchObject({ type: "hello" });
    await waitFor(() => server.connectionCount === 7, "the other source's connection accepted");
  });
});

describe("ClientServer fairness within a connection", () => {
  it("answers requests above the rate with TOO_MANY_REQUESTS and a retryAfterMs", async () => {
    const handler = new DeferredHandler();
    const { port, metrics } = await startServer(handler, {
      connectionRequestsPerSecond: 1,
      connectionRequestBurst: 2,
    });
    const client = await connectClient(port);
    client.sendFrame({ type: "status", id: 1 });
    client.sendFrame({ type: "status", id: 2 });
    client.sendFrame({ type: "status", id: 3 });
    const answer = (await client.nextFrame()) as { id: number; error: { retryAfterMs: number } };
    expect(answer).toMatchObject({ type: "error", id: 3, error: { code: "TOO_MANY_REQUESTS" } });
    // One token a second: the next one is most of a second away.
    expect(answer.error.retryAfterMs).toBeGreaterThan(500);
    expect(handler.calls).toHaveLength(2);
    expect(metrics.limited).toContain("request_rate");
  });

  it("lets one multiplexing client run at Redis's lock rate under the default request rate", async () => {
    // Issue #13: a Locker sends every lock of its application over one connection per node; the
    // default rate once capped that at 1,000 cycles/s. 80,000 requests/s = the Redis anchor's
    // ~40,000 acquire+release cycles/s, kept up for a virtual second (20 times the burst).
    const requestsPerSecond = 80_000;
    const batch = 800;
    const batches = 100;
    let now = 0;
    const handler: ClientRequestHandler = {
      handle: () => Promise.resolve({ leader: null, term: 1, members: [] }),
    };
    const { port, metrics } = await startServer(handler, { nowMs: () => now });
    const client = await connectClient(port);
    const encoder = new FrameEncoder();
    let id = 0;
    for (let b = 0; b < batches; b++) {
      client.sendBytes(
        Buffer.concat(
          Array.from({ length: batch }, () => encoder.encode({ type: "status", id: ++id })),
        ),
      );
      // A refusal stops the batch short: the requests after it wait for a refill that virtual
      // time never brings.
      await waitFor(
        () => client.frames.length === 1 + id || metrics.limited.length > 0,
        `batch ${b + 1} answered`,
      );
      if (metrics.limited.length > 0) break;
      now += (batch * 1_000) / requestsPerSecond;
    }
    expect(metrics.limited).toEqual([]);
    expect(client.frames.filter((frame) => (frame as { type: string }).type === "error")).toEqual(
      [],
    );
  });

  it("leaves the requests after a refusal unread until the bucket refills, then serves them", async () => {
    const handler = new DeferredHandler();
    let now = 0;
    const { port } = await startServer(handler, {
      connectionRequestsPerSecond: 10,
      connectionRequestBurst: 2,
      nowMs: () => now,
    });
    const client = await connectClient(port);
    const encoder = new FrameEncoder();
    client.sendBytes(
      Buffer.concat([1, 2, 3, 4, 5].map((id) => encoder.encode({ type: "status", id }))),
    );
    expect(await client.nextFrame()).toMatchObject({
      type: "error",
      id: 3,
      error: { code: "TOO_MANY_REQUESTS", retryAfterMs: 100 },
    });
    // Refused at once, 4 and 5 would be answered TOO_MANY_REQUESTS too (no time has passed).
    now += 1_000;
    await waitFor(() => handler.calls.length === 4, "requests 4 and 5 served after the pause");
    expect(handler.calls.map((call) => call.request.id)).toEqual([1, 2, 4, 5]);
  });

  it("handles at most connectionFramesPerTurn requests of one connection per event-loop turn", async () => {
    let handledInFirstTurn = -1;
    let calls: number[] = [];
    const handler: ClientRequestHandler = {
      handle(request) {
        if (request.id === 1_000) return Promise.resolve({ leader: null, term: 1, members: [] });
        calls.push(request.id);
        // Queued before the connection's next turn: runs after this turn's requests only.
        if (calls.length === 1) setImmediate(() => (handledInFirstTurn = calls.length));
        return Promise.resolve({ leader: null, term: 1, members: [] });
      },
    };
    const { port } = await startServer(handler, { connectionFramesPerTurn: 4 });
    const client = await connectClient(port);
    // A first answer: the hello is handled, the 50 requests below are all in the next chunk.
    client.sendFrame({ type: "status", id: 1_000 });
    await waitFor(() => client.frames.length === 2, "the first answer");
    calls = [];
    const encoder = new FrameEncoder();
    const frames = Array.from({ length: 50 }, (_, i) =>
      encoder.encode({ type: "status", id: i + 1 }),
    );
    client.sendBytes(Buffer.concat(frames)); // One write: the server reads it as one chunk.
    await waitFor(() => calls.length === 50, "every request handled");
    expect(handledInFirstTurn).toBe(4);
    expect(calls).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("stops reading a client that leaves its answers unread, and closes it when it stays stuck", async () => {
    const big = "v".repeat(60_000);
    let calls = 0;
    const handler: ClientRequestHandler = {
      handle: () => {
        calls++;
        return Promise.resolve({
          held: true,
          value: big,
          fencingToken: 1,
          ttlRemainingMs: 1,
          waiters: 0,
        });
      },
    };
    const { port, metrics, server } = await startServer(handler, {
      replyBacklogBytesMax: 64 * 1024,
      socketWritableBytesMax: 1024 * 1024 * 1024,
      stuckTimeoutMs: 300,
    });
    const client = await connectClient(port);
    client.socket.pause();
    const encoder = new FrameEncoder();
    const requests = 2_000;
    const frames = Array.from({ length: requests }, (_, i) =>
      encoder.encode({ type: "get", id: i + 1, key: "k" }),
    );
    client.sendBytes(Buffer.concat(frames));
    await waitFor(() => metrics.limited.includes("reply_backlog"), "reading paused");
    await waitFor(() => metrics.rejected.includes("SLOW_CONSUMER"), "the stuck client closed");
    // Kernel buffers hold a few MB of 60 kB answers: far fewer than were sent got handled.
    expect(calls).toBeLessThan(requests / 2);
    await waitFor(() => server.connectionCount === 0, "the connection gone");
    expect(server.replyBacklogBytes).toBe(0);
  });

  it("stops reading clients with unread answers while all of them exceed the server's budget", async () => {
    const big = "v".repeat(60_000);
    const handler: ClientRequestHandler = {
      handle: () =>
        Promise.resolve({ held: true, value: big, fencingToken: 1, ttlRemainingMs: 1, waiters: 0 }),
    };
    // No per-connection cap to speak of: only the server-wide budget can pause these.
    const { port, metrics } = await startServer(handler, {
      replyBacklogBytesMax: 1024 * 1024 * 1024,
      socketWritableBytesMax: 1024 * 1024 * 1024,
      serverReplyBacklogBytesMax: 128 * 1024,
      stuckTimeoutMs: 300,
    });
    const encoder = new FrameEncoder();
    for (let c = 0; c < 2; c++) {
      const client = await connectClient(port);
      client.socket.pause();
      client.sendBytes(
        Buffer.concat(
          Array.from({ length: 2_000 }, (_, i) =>
            encoder.encode({ type: "get", id: i + 1, key: "k" }),
          ),
        ),
      );
    }
    await waitFor(() => metrics.limited.includes("reply_backlog"), "reading paused");
    await waitFor(
      () => metrics.rejected.filter((reason) => reason === "SLOW_CONSUMER").length === 2,
      "both stuck clients closed",
    );
  });

  it("resumes a client that reads its answers after a backlog", async () => {
    const big = "v".repeat(60_000);
    const handler: ClientRequestHandler = {
      handle: () =>
        Promise.resolve({ held: true, value: big, fencingToken: 1, ttlRemainingMs: 1, waiters: 0 }),
    };
    const { port, metrics } = await startServer(handler, { replyBacklogBytesMax: 64 * 1024 });
    const client = await connectClient(port);
    await waitFor(() => client.frames.length === 1, "the server hello");
    client.socket.pause();
    const encoder = new FrameEncoder();
    const requests = 400;
    client.sendBytes(
      Buffer.concat(
        Array.from({ length: requests }, (_, i) =>
          encoder.encode({ type: "get", id: i + 1, key: "k" }),
        ),
      ),
    );
    await waitFor(() => metrics.limited.includes("reply_backlog"), "reading paused");
    client.socket.resume();
    await waitFor(() => client.frames.length === requests + 1, "every answer", 30_000);
    expect(metrics.rejected).toEqual([]);
  });
});
