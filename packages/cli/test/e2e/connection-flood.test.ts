// Issue 10, client port: one address opens far more connections than it may. Its connections
// beyond --client-connections-per-source get a typed OVERLOADED error frame and a close, and are
// counted in /metrics; clients from other addresses still connect and lock; no election happens.
// The flood comes from 127.0.0.2 (any 127/8 address reaches loopback on Linux), the normal
// client from 127.0.0.1.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import { SHIPPED_TIMING, SHIPPED_TTL_FLOOR_MS, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { eventLoopLags, formatLags, leadership } from "./support/leadership.js";
import { sumMetric } from "./support/metrics.js";
import { clientHello, RawConnection } from "./support/raw-connection.js";

const FLOOD_SOURCE = "127.0.0.2";
const FLOOD_CONNECTIONS = 200;
const PER_SOURCE_MAX = 64;

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("connection-flood", {
    ...SHIPPED_TIMING,
    extraArgs: [
      "--shutdown-timeout",
      "1s",
      "--client-connections-per-source",
      String(PER_SOURCE_MAX),
      "--client-connections-max",
      "256",
    ],
  });
});

afterAll(async () => {
  await test?.dispose();
});

it("refuses one address's connections beyond its share with OVERLOADED; others still lock", async () => {
  const { cluster } = test;
  const before = await leadership(cluster);
  const leader = cluster.node(before.leader);
  process.stderr.write(
    formatLags(
      `before the connection flood (leader ${before.leader})`,
      await eventLoopLags(cluster),
    ),
  );

  const flood: RawConnection[] = [];
  try {
    for (let i = 0; i < FLOOD_CONNECTIONS; i++) {
      const connection = await RawConnection.open(leader.clientAddress, FLOOD_SOURCE);
      connection.sendFrame(clientHello({ clientId: `flood-${i}` }));
      flood.push(connection);
    }
    // Each connection's first frame is the server's hello, or the refusal of a connection over
    // the limit (followed by the close).
    const firsts = await Promise.all(flood.map((connection) => connection.next(30_000)));
    const refused = firsts.filter(
      (received) =>
        received.kind === "frame" &&
        (received.body as { type?: string; error?: { code?: string } }).error?.code ===
          "OVERLOADED",
    ).length;
    const accepted = firsts.filter(
      (received) =>
        received.kind === "frame" && (received.body as { type?: string }).type === "hello",
    ).length;
    process.stderr.write(
      `connection flood from ${FLOOD_SOURCE}: ${accepted} accepted, ${refused} refused OVERLOADED\n`,
    );
    expect(accepted).toBe(PER_SOURCE_MAX);
    expect(refused).toBe(FLOOD_CONNECTIONS - PER_SOURCE_MAX);
    expect(
      await sumMetric(cluster, "dlock_client_limited_total", { limit: "source_connections" }),
    ).toBe(FLOOD_CONNECTIONS - PER_SOURCE_MAX);

    // While the flood's connections stay open, a client from another address locks.
    const locker = new Locker({ endpoints: [leader.clientAddress, ...cluster.endpoints()] });
    try {
      const lock = await locker.lock("connection-flood/normal", "normal", {
        ttl: SHIPPED_TTL_FLOOR_MS,
      });
      expect(await lock.release()).toEqual({ released: true, lost: false });
    } finally {
      await locker.close();
    }
  } finally {
    for (const connection of flood) connection.close();
  }
  process.stderr.write(
    formatLags(
      `after the connection flood (leader ${before.leader})`,
      await eventLoopLags(cluster),
    ),
  );
  expect(await leadership(cluster)).toEqual(before);
});
