import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HandshakeFailedError, MalformedFrameError, UnauthenticatedError } from "@dlock/protocol";
import type { Locker } from "../src/index.js";
import { ClusterUnavailableError } from "../src/index.js";
import { systemClock, createLocker } from "../src/internal.js";
import { FakeCluster } from "./support/fake-cluster.js";
import { FakeTcpServer } from "./support/tcp-fake-server.js";
import type { InternalLockerOptions } from "../src/internal.js";

const servers: FakeTcpServer[] = [];
const lockers: Locker[] = [];

afterEach(async () => {
  for (const locker of lockers.splice(0)) await locker.close();
  for (const server of servers.splice(0)) await server.close();
});

async function start(
  nodeIds: string[],
  leaderId: string,
  extra: Partial<ConstructorParameters<typeof FakeTcpServer>[0]> = {},
) {
  // Addresses are known only after listen; the cluster learns them then.
  const cluster = new FakeCluster(systemClock, [], leaderId);
  const addresses: string[] = [];
  for (const id of nodeIds) {
    const server = new FakeTcpServer({ nodeId: id, clusterId: "c1", cluster, ...extra });
    servers.push(server);
    const address = await server.listen();
    cluster.nodes.set(id, { id, address, paused: false, down: false });
    addresses.push(address);
  }
  return { cluster, addresses };
}

function locker(endpoints: string[], options: Partial<InternalLockerOptions> = {}) {
  const created = createLocker({ endpoints, random: () => 0, ...options });
  lockers.push(created);
  return created;
}

describe("TCP transport against a fake node on loopback", () => {
  it("handshakes, acquires, reads and releases", async () => {
    const { cluster, addresses } = await start(["n1"], "n1");
    const client = locker(addresses, { clusterId: "c1" });
    const lock = await client.lock("orders", "worker-1", { ttl: "10s" });
    expect(lock.fencingToken).toBe(cluster.holder("orders")!.token);
    expect(await client.get("orders")).toMatchObject({ held: true, value: "worker-1" });
    expect(await lock.release()).toEqual({ released: true, lost: false });
    expect(cluster.holder("orders")).toBeNull();
  });

  it("pipelines many requests on one connection and matches answers sent out of order", async () => {
    const { cluster, addresses } = await start(["n1"], "n1", { reverseBatches: true });
    const client = locker(addresses);
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    const grants = await Promise.all(
      keys.map((key) => client.acquire(key, `v-${key}`, { ttl: "30s" })),
    );
    for (const grant of grants) {
      expect(cluster.holder(grant.key)?.token).toBe(grant.fencingToken);
      expect(grant.value).toBe(`v-${grant.key}`);
    }
    expect(servers[0].connections).toBe(1);
  });

  it("writes the requests of one turn in one socket write, also from separate macrotasks", async () => {
    const { addresses } = await start(["n1"], "n1");
    const client = locker(addresses);
    await client.status(); // Connected: what follows is requests only.
    const write = vi.spyOn(net.Socket.prototype, "write");
    try {
      // Three immediates of one check phase: three macrotasks of one loop iteration.
      const gets = await new Promise<Array<Promise<unknown>>>((resolve) => {
        const started: Array<Promise<unknown>> = [];
        for (let i = 0; i < 3; i++) {
          setImmediate(() => {
            started.push(client.get(`key-${i}`));
            if (started.length === 3) resolve(started);
          });
        }
      });
      await Promise.all(gets);
      const serverSockets = servers[0].sockets as Set<unknown>;
      const clientWrites = write.mock.contexts.filter((socket) => !serverSockets.has(socket));
      expect(clientWrites).toHaveLength(1);
      expect(write.mock.contexts.length - clientWrites.length).toBeGreaterThanOrEqual(1);
    } finally {
      write.mockRestore();
    }
  });

  it("follows a leader hint to another node", async () => {
    const { cluster, addresses } = await start(["n1", "n2"], "n2");
    const client = locker([addresses[0]]); // Only the follower is configured.
    const grant = await client.acquire("orders", "worker-1");
    expect(grant.fencingToken).toBeGreaterThan(0);
    expect(cluster.requestsOf("acquire").map((r) => r.nodeId)).toEqual(["n1", "n2"]);
  });

  it("gives up on a server of another cluster with ClusterUnavailableError caused by the handshake", async () => {
    const { addresses } = await start(["n1"], "n1");
    const client = locker(addresses, { clusterId: "other", unavailableTimeoutMs: 400 });
    const error = await client.get("k").then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClusterUnavailableError);
    expect((error as ClusterUnavailableError).cause).toBeInstanceOf(HandshakeFailedError);
    expect(((error as ClusterUnavailableError).cause as HandshakeFailedError).reason).toBe(
      "clusterId",
    );
  });

  it("reports UNAUTHENTICATED when the refusal arrives in the same read as the server's hello", async () => {
    const refusal = new UnauthenticatedError("this server requires credentials");
    const { addresses } = await start(["n1"], "n1", { refuseAfterHello: refusal });
    const client = locker(addresses, { unavailableTimeoutMs: 2_000 });
    const error = await client.status().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect((error as UnauthenticatedError).message).toContain("requires credentials");
    // Not retried: every node checks the same credentials.
    expect(servers[0].connections).toBe(1);
  });

  it("drops a connection that sends garbage and reports it when nothing else answers", async () => {
    const garbage = Buffer.from([0, 0, 0, 2, 0xc1, 0xc1]);
    const { addresses } = await start(["n1"], "n1", { garbageAfterHello: garbage });
    const client = locker(addresses, { unavailableTimeoutMs: 400 });
    const error = await client.get("k").then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClusterUnavailableError);
    expect((error as ClusterUnavailableError).cause).toBeInstanceOf(MalformedFrameError);
    expect(servers[0].connections).toBeGreaterThan(1); // It reconnected and retried.
  });

  it("reconnects after the server drops the connection", async () => {
    const { addresses } = await start(["n1"], "n1");
    const client = locker(addresses);
    await client.get("k");
    for (const socket of servers[0].sockets) socket.destroy();
    expect(await client.get("k")).toMatchObject({ held: false });
    expect(servers[0].connections).toBe(2);
  });
});
