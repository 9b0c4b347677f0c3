import { afterEach, describe, expect, it } from "vitest";
import { AdminServer } from "../../src/admin/admin-server.js";
import { ReadinessTracker } from "../../src/admin/readiness.js";
import { ServerMetrics } from "../../src/admin/server-metrics.js";
import type { AdminStatusProvider, NodeStatusSnapshot } from "../../src/admin/status-provider.js";

function baseStatus(overrides: Partial<NodeStatusSnapshot> = {}): NodeStatusSnapshot {
  return {
    nodeId: "n1",
    role: "follower",
    term: 3,
    leader: "n2",
    commitIndex: 10,
    appliedIndex: 10,
    members: [
      { id: "n1", kind: "voter", role: "follower", healthy: true, matchIndex: null },
      { id: "n2", kind: "voter", role: "leader", healthy: true, matchIndex: null },
      { id: "n3", kind: "voter", role: "unknown", healthy: false, matchIndex: null },
    ],
    ...overrides,
  };
}

class FakeProvider implements AdminStatusProvider {
  current = baseStatus();
  storageCheck: () => Promise<void> = () => Promise.resolve();
  status(): NodeStatusSnapshot {
    return this.current;
  }
  checkStorageWritable(): Promise<void> {
    return this.storageCheck();
  }
}

const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function startAdmin(
  provider: FakeProvider,
  metrics = new ServerMetrics({ statusSource: () => provider.status() }),
  healthCheckTimeoutMs = 2_000,
  readiness?: ReadinessTracker,
) {
  const server = new AdminServer({
    provider,
    metrics,
    port: 0,
    healthCheckTimeoutMs,
    ...(readiness === undefined ? {} : { readiness }),
  });
  servers.push(server);
  await server.start();
  const { port } = server.address();
  const get = async (path: string, method = "GET") => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    const text = await response.text();
    return { status: response.status, text, headers: response.headers };
  };
  return { server, metrics, get };
}

describe("AdminServer /healthz", () => {
  it("answers 200 when storage accepts a write", async () => {
    const { get } = await startAdmin(new FakeProvider());
    const response = await get("/healthz");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ ok: true });
  });

  it("answers 503 with the reason when the storage write fails", async () => {
    const provider = new FakeProvider();
    provider.storageCheck = () => Promise.reject(new Error("ENOSPC: no space left on device"));
    const { get } = await startAdmin(provider);
    const response = await get("/healthz");
    expect(response.status).toBe(503);
    const body = JSON.parse(response.text);
    expect(body.reason).toBe("storage-unwritable");
    expect(body.detail).toContain("ENOSPC");
  });

  it("answers 503 when the storage write never completes", async () => {
    const provider = new FakeProvider();
    provider.storageCheck = () => new Promise(() => {});
    const { get } = await startAdmin(provider, undefined, 50);
    const response = await get("/healthz");
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text).detail).toContain("timed out");
  });
});

describe("AdminServer /readyz", () => {
  it("is not ready without a leader", async () => {
    const provider = new FakeProvider();
    provider.current = baseStatus({ leader: null, role: "candidate" });
    const { get } = await startAdmin(provider);
    const response = await get("/readyz");
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toMatchObject({ ready: false, reason: "no-leader" });
  });

  it("is not ready until applied reaches the commit index known at leader discovery", async () => {
    const provider = new FakeProvider();
    provider.current = baseStatus({ leader: "n2", commitIndex: 50, appliedIndex: 20 });
    const { get } = await startAdmin(provider);
    let response = await get("/readyz");
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toMatchObject({
      ready: false,
      reason: "catching-up",
      targetIndex: 50,
      appliedIndex: 20,
    });
    // Commit moves on while the node catches up: the target stays the one known at discovery.
    provider.current = baseStatus({ leader: "n2", commitIndex: 80, appliedIndex: 50 });
    response = await get("/readyz");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ ready: true, leader: "n2" });
  });
});

describe("AdminServer /readyz fed with the host's leader changes", () => {
  // A follower long caught up gets its first /readyz between learning commit 12 and applying it.
  const midTurn = () => baseStatus({ leader: "n2", term: 3, commitIndex: 12, appliedIndex: 11 });

  it("takes the target from when the leader was seen, so a request mid-apply is ready", async () => {
    const provider = new FakeProvider();
    const readiness = new ReadinessTracker();
    readiness.leaderSeen({ leader: "n2", term: 3, commitIndex: 10 });
    provider.current = midTurn();
    const { get } = await startAdmin(provider, undefined, undefined, readiness);
    const response = await get("/readyz");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ ready: true, leader: "n2" });
  });

  it("without the feed, the first request sets the target and answers catching-up", async () => {
    const provider = new FakeProvider();
    provider.current = midTurn();
    const { get } = await startAdmin(provider);
    expect(JSON.parse((await get("/readyz")).text)).toMatchObject({
      reason: "catching-up",
      targetIndex: 12,
    });
  });

  it("a new leader (or term) seen later raises the target; losing the leader is not ready", async () => {
    const provider = new FakeProvider();
    const readiness = new ReadinessTracker();
    readiness.leaderSeen({ leader: "n2", term: 3, commitIndex: 10 });
    readiness.leaderSeen({ leader: null, term: 4, commitIndex: 11 });
    provider.current = baseStatus({ leader: null, term: 4, commitIndex: 11, appliedIndex: 11 });
    const { get } = await startAdmin(provider, undefined, undefined, readiness);
    expect(JSON.parse((await get("/readyz")).text)).toMatchObject({ reason: "no-leader" });
    readiness.leaderSeen({ leader: "n3", term: 4, commitIndex: 30 });
    provider.current = baseStatus({ leader: "n3", term: 4, commitIndex: 31, appliedIndex: 25 });
    expect(JSON.parse((await get("/readyz")).text)).toMatchObject({
      reason: "catching-up",
      targetIndex: 30,
    });
    provider.current = baseStatus({ leader: "n3", term: 4, commitIndex: 33, appliedIndex: 30 });
    expect((await get("/readyz")).status).toBe(200);
  });
});

describe("AdminServer /readyz, nodes that serve nobody", () => {
  it("is not ready while the node cannot write to its data folder", async () => {
    const provider = new FakeProvider();
    provider.current = baseStatus({ healthy: false, failure: "cannot write (ENOSPC)" });
    const { get } = await startAdmin(provider);
    const response = await get("/readyz");
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toMatchObject({ ready: false, reason: "unhealthy" });
    provider.current = baseStatus({ healthy: true });
    expect((await get("/readyz")).status).toBe(200);
  });

  it("is not ready while the node is not a member (joining, or removed), even with a leader", async () => {
    const provider = new FakeProvider();
    provider.current = baseStatus({ members: [] });
    const { get } = await startAdmin(provider);
    const response = await get("/readyz");
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toMatchObject({ ready: false, reason: "not-a-member" });
    const others = baseStatus().members.filter((m) => m.id !== "n1");
    provider.current = baseStatus({ members: others });
    expect(JSON.parse((await get("/readyz")).text)).toMatchObject({ reason: "not-a-member" });
  });
});

describe("AdminServer /status", () => {
  it("returns the node status as JSON with readiness", async () => {
    const provider = new FakeProvider();
    const { get } = await startAdmin(provider);
    const response = await get("/status");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = JSON.parse(response.text);
    expect(body).toMatchObject({
      nodeId: "n1",
      role: "follower",
      term: 3,
      leader: "n2",
      commitIndex: 10,
      appliedIndex: 10,
      ready: true,
    });
    expect(
      body.members.map((member: { id: string; healthy: boolean }) => [member.id, member.healthy]),
    ).toEqual([
      ["n1", true],
      ["n2", true],
      ["n3", false],
    ]);
  });
});

describe("AdminServer /metrics", () => {
  it("exposes raft gauges, request counters, fsync and peer drops in Prometheus format", async () => {
    const provider = new FakeProvider();
    provider.current = baseStatus({
      role: "leader",
      leader: "n1",
      term: 7,
      commitIndex: 42,
      appliedIndex: 41,
    });
    const { get, metrics } = await startAdmin(provider);
    metrics.requestCompleted("acquire", "ok", 1.2);
    metrics.requestCompleted("acquire", "ok", 0.8);
    metrics.requestCompleted("acquire", "LOCK_BUSY", 0.5);
    metrics.observeFsync(0.4);
    metrics.messagesDropped("n2", 3);
    metrics.sendQueueOverflow("n2");
    metrics.connectionsChanged(1);
    const response = await get("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = response.text;
    expect(text).toMatch(/^dlock_raft_term 7$/m);
    expect(text).toMatch(/^dlock_raft_commit_index 42$/m);
    expect(text).toMatch(/^dlock_raft_applied_index 41$/m);
    expect(text).toMatch(/^dlock_raft_role\{role="leader"\} 1$/m);
    expect(text).toMatch(/^dlock_raft_role\{role="follower"\} 0$/m);
    expect(text).toMatch(/^dlock_client_requests_total\{type="acquire",result="ok"\} 2$/m);
    expect(text).toMatch(/^dlock_client_requests_total\{type="acquire",result="LOCK_BUSY"\} 1$/m);
    expect(text).toMatch(/^dlock_client_request_duration_seconds_count\{type="acquire"\} 3$/m);
    expect(text).toMatch(/^dlock_storage_fsync_duration_seconds_count 1$/m);
    expect(text).toMatch(/^dlock_peer_queue_dropped_messages_total\{peer="n2"\} 3$/m);
    expect(text).toMatch(/^dlock_peer_queue_overflows_total\{peer="n2"\} 1$/m);
    expect(text).toMatch(/^dlock_client_connections 1$/m);
  });

  it("keeps each server's metrics in its own registry", async () => {
    const first = new ServerMetrics();
    const second = new ServerMetrics();
    first.requestCompleted("get", "ok", 1);
    const secondText = await second.render();
    expect(await first.render()).toMatch(/dlock_client_requests_total\{type="get",result="ok"\} 1/);
    expect(secondText).not.toMatch(/dlock_client_requests_total\{type="get"/);
  });
});

describe("AdminServer routing", () => {
  it("answers 404 for unknown paths and 405 for other methods", async () => {
    const { get } = await startAdmin(new FakeProvider());
    expect((await get("/nope")).status).toBe(404);
    const response = await get("/status", "POST");
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });
});
