import { describe, expect, it } from "vitest";
import type { ClientRequest, HelloFrame } from "@dlock/protocol";
import {
  ConnectionClosedError,
  HandshakeFailedError,
  LockBusyError,
  MalformedFrameError,
  PROTOCOL_VERSION,
  TimedOutError,
  TooManyRequestsError,
} from "@dlock/protocol";
import type { Clock, Transport, TransportConnectionEvents } from "../src/internal.js";
import { ClientConnection } from "../src/connection.js";
import { FakeClock, flushPromises } from "./support/fake-clock.js";
import { track } from "./support/harness.js";

/** A transport whose single connection the test drives by hand. */
class ScriptedTransport implements Transport {
  events: TransportConnectionEvents | null = null;
  readonly sent: ClientRequest[] = [];
  closed = false;

  connect(_endpoint: string, _hello: HelloFrame, events: TransportConnectionEvents) {
    this.events = events;
    return {
      send: (request: ClientRequest) => this.sent.push(request),
      close: () => {
        this.closed = true;
        queueMicrotask(() => events.onClose(null));
      },
    };
  }

  open(clusterId = "c1"): void {
    this.events!.onOpen({
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      clusterId,
      role: "client",
      nodeId: "n1",
    });
  }
}

function connect(options: { clusterId?: string | null; inFlightRequestsMax?: number } = {}) {
  const clock = new FakeClock();
  const transport = new ScriptedTransport();
  const connection = new ClientConnection({
    endpoint: "n1:7001",
    transport,
    clock,
    hello: {
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      clusterId: options.clusterId ?? null,
      role: "client",
      clientId: "c",
    },
    connectTimeoutMs: 1_000,
    inFlightRequestsMax: options.inFlightRequestsMax ?? 100,
  });
  return { clock, transport, connection };
}

describe("ClientConnection", () => {
  it("matches answers to requests by id, in any order", async () => {
    const { transport, connection } = connect();
    transport.open();
    await connection.opened;
    expect(connection.nodeId).toBe("n1");
    const a = track(connection.request({ type: "get", key: "a" }, 1_000));
    const b = track(connection.request({ type: "release", key: "b", value: "v" }, 1_000));
    const [ra, rb] = transport.sent;
    expect(ra.id).not.toBe(rb.id);
    transport.events!.onResponse({ type: "ok", id: rb.id, result: { released: true } });
    transport.events!.onResponse({
      type: "ok",
      id: ra.id,
      result: { held: false, value: null, fencingToken: null, ttlRemainingMs: null, waiters: 0 },
    });
    await flushPromises();
    expect(a.value).toMatchObject({ held: false });
    expect(b.value).toEqual({ released: true });
    expect(connection.inFlight).toBe(0);
  });

  it("rebuilds the server's typed error and rejects a malformed result", async () => {
    const { transport, connection } = connect();
    transport.open();
    const busy = track(connection.request({ type: "get", key: "a" }, 1_000));
    const bad = track(connection.request({ type: "get", key: "b" }, 1_000));
    transport.events!.onResponse({
      type: "error",
      id: transport.sent[0].id,
      error: { code: "LOCK_BUSY", message: "busy", key: "a" },
    });
    transport.events!.onResponse({ type: "ok", id: transport.sent[1].id, result: { held: "yes" } });
    await flushPromises();
    expect(busy.error).toBeInstanceOf(LockBusyError);
    expect(bad.error).toBeInstanceOf(MalformedFrameError);
  });

  it("times a request out and drops its late answer", async () => {
    const { clock, transport, connection } = connect();
    transport.open();
    const pending = track(connection.request({ type: "status" }, 500));
    await clock.advance(499);
    expect(pending.done).toBe(false);
    await clock.advance(1);
    expect(pending.error).toBeInstanceOf(TimedOutError);
    transport.events!.onResponse({
      type: "ok",
      id: transport.sent[0].id,
      result: { released: true },
    });
    expect(connection.state).toBe("open");
  });

  it("bounds the requests in flight", async () => {
    const { transport, connection } = connect({ inFlightRequestsMax: 2 });
    transport.open();
    const first = track(connection.request({ type: "status" }, 1_000));
    track(connection.request({ type: "status" }, 1_000));
    await expect(connection.request({ type: "status" }, 1_000)).rejects.toBeInstanceOf(
      TooManyRequestsError,
    );
    expect(transport.sent).toHaveLength(2);
    expect(first.done).toBe(false);
  });

  it("fails every waiting request when the connection closes", async () => {
    const { transport, connection } = connect();
    transport.open();
    const a = track(connection.request({ type: "status" }, 1_000));
    const b = track(connection.request({ type: "status" }, 1_000));
    transport.events!.onClose(new ConnectionClosedError("reset"));
    await flushPromises();
    expect(a.error).toBeInstanceOf(ConnectionClosedError);
    expect(b.error).toBeInstanceOf(ConnectionClosedError);
    expect(connection.state).toBe("closed");
    await expect(connection.request({ type: "status" }, 1_000)).rejects.toBeInstanceOf(
      ConnectionClosedError,
    );
  });

  it("refuses a server of another cluster and times out a silent handshake", async () => {
    const wrong = connect({ clusterId: "c1" });
    wrong.transport.open("c2");
    await expect(wrong.connection.opened).rejects.toBeInstanceOf(HandshakeFailedError);
    expect(wrong.transport.closed).toBe(true);

    const silent = connect();
    const opened = track(silent.connection.opened);
    await silent.clock.advance(1_000);
    expect(opened.error).toBeInstanceOf(TimedOutError);
    expect(silent.transport.closed).toBe(true);
  });

  it("closes on a connection-level error frame", async () => {
    const { transport, connection } = connect();
    transport.open();
    const pending = track(connection.request({ type: "status" }, 1_000));
    transport.events!.onResponse({
      type: "error",
      id: null,
      error: { code: "MALFORMED_FRAME", message: "bad frame" },
    });
    await flushPromises();
    expect(pending.error).toBeInstanceOf(MalformedFrameError);
    expect(connection.state).toBe("closed");
  });
});

describe("ClientConnection request deadlines (one sweep timer per connection)", () => {
  const okStatus = (id: number) => ({ type: "ok" as const, id, result: { released: true } });

  it("fires every request's deadline once, at its own time, in the order sent, on one timer", async () => {
    const { clock, transport, connection } = connect();
    transport.open();
    await connection.opened;
    const start = clock.now();
    const timedOut: string[] = [];
    const send = (key: string, timeoutMs: number) => {
      const tracked = track(connection.request({ type: "get", key }, timeoutMs));
      connection
        .request({ type: "get", key: `${key}-twin` }, timeoutMs)
        .catch(() => timedOut.push(`${key}-twin`));
      return tracked;
    };
    const a = send("a", 1_000); // due at +1000
    await clock.advance(100);
    const b = send("b", 500); // due at +600: earlier than a's, so the timer moves up
    await clock.advance(100);
    const c = send("c", 2_000); // due at +2200
    expect(clock.pendingTimers).toBe(1);
    expect(connection.inFlight).toBe(6);

    await clock.advanceTo(start + 599);
    expect([a.done, b.done, c.done]).toEqual([false, false, false]);
    await clock.advanceTo(start + 600);
    expect(b.error).toBeInstanceOf(TimedOutError);
    expect((b.error as Error).message).toContain("in 500 ms");
    expect([a.done, c.done]).toEqual([false, false]);
    await clock.advanceTo(start + 999);
    expect(a.done).toBe(false);
    await clock.advanceTo(start + 1_000);
    expect(a.error).toBeInstanceOf(TimedOutError);
    expect(c.done).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceTo(start + 2_200);
    expect(c.error).toBeInstanceOf(TimedOutError);
    expect(timedOut).toEqual(["b-twin", "a-twin", "c-twin"]);
    expect(connection.inFlight).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    // Late answers to timed-out requests are dropped, not delivered twice.
    for (const request of transport.sent) transport.events!.onResponse(okStatus(request.id));
    await clock.advance(10_000);
    expect(connection.state).toBe("open");
  });

  it("answers a request whose answer lands at its deadline, and keeps the others' deadlines", async () => {
    const { clock, transport, connection } = connect();
    transport.open();
    await connection.opened;
    const start = clock.now();
    // Set before the request, this timer runs first at the shared instant: the answer comes at
    // the very deadline, ahead of the sweep, and counts.
    clock.setTimeout(() => transport.events!.onResponse(okStatus(transport.sent[0].id)), 500);
    const first = track(connection.request({ type: "release", key: "a", value: "v" }, 500));
    const second = track(connection.request({ type: "release", key: "b", value: "v" }, 800));
    await clock.advanceTo(start + 500);
    expect(first.value).toEqual({ released: true });
    expect(second.done).toBe(false);
    // The sweep armed for the answered request fired and re-armed for the other one.
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceTo(start + 799);
    expect(second.done).toBe(false);
    await clock.advanceTo(start + 800);
    expect(second.error).toBeInstanceOf(TimedOutError);
    expect(clock.pendingTimers).toBe(0);
  });

  it("lets the timer of answered requests run out once, and leaves none after close", async () => {
    const { clock, transport, connection } = connect();
    transport.open();
    await connection.opened;
    const start = clock.now();
    expect(clock.pendingTimers).toBe(0);
    const a = track(connection.request({ type: "release", key: "a", value: "v" }, 1_000));
    const b = track(connection.request({ type: "release", key: "b", value: "v" }, 1_000));
    for (const request of transport.sent) transport.events!.onResponse(okStatus(request.id));
    await flushPromises();
    expect([a.done, b.done]).toEqual([true, true]);
    expect(connection.inFlight).toBe(0);
    // Answers leave the timer alone: it fires once at the first deadline, finds nothing, stops.
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceTo(start + 1_000);
    expect(clock.pendingTimers).toBe(0);
    track(connection.request({ type: "status" }, 1_000));
    expect(clock.pendingTimers).toBe(1);
    connection.close();
    await flushPromises();
    expect(clock.pendingTimers).toBe(0);
  });

  it("times out what was due when a clock fires its timer early, without re-arming for it", async () => {
    const fake = new FakeClock();
    // Node's timers may run a little before performance.now() reaches their time.
    const early: Clock = {
      now: () => fake.now(),
      setTimeout: (callback, delayMs) => fake.setTimeout(callback, delayMs - 0.5),
      clearTimeout: (handle) => fake.clearTimeout(handle),
    };
    const transport = new ScriptedTransport();
    const connection = new ClientConnection({
      endpoint: "n1:7001",
      transport,
      clock: early,
      hello: { type: "hello", protocolVersion: PROTOCOL_VERSION, clusterId: null, role: "client" },
      connectTimeoutMs: 1_000,
      inFlightRequestsMax: 10,
    });
    transport.open();
    await connection.opened;
    const start = fake.now();
    const due = track(connection.request({ type: "status" }, 300));
    const later = track(connection.request({ type: "status" }, 400));
    await fake.advanceTo(start + 299.5);
    expect(due.error).toBeInstanceOf(TimedOutError);
    expect(later.done).toBe(false);
    expect(fake.pendingTimers).toBe(1);
    await fake.advanceTo(start + 399.5);
    expect(later.error).toBeInstanceOf(TimedOutError);
    expect(fake.pendingTimers).toBe(0);
  });
});
