// Issue 11, load must not cost leadership: four connections to the leader send requests as fast
// as the socket takes them and never read a reply. The leader stops reading them once their
// replies back up, closes them when they stay stuck, keeps serving a normal client meanwhile, and
// no election happens (same leader, same term on every node).
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FrameEncoder } from "@dlock/protocol";
import { Locker } from "@dlock/client";
import { SHIPPED_TIMING, SHIPPED_TTL_FLOOR_MS, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { eventLoopLags, formatLags, leadership } from "./support/leadership.js";
import { sumMetric } from "./support/metrics.js";
import { clientHello } from "./support/raw-connection.js";
import { waitFor } from "./support/wait.js";

const FLOODERS = 4;
/** How long each flooder keeps writing while the socket accepts it. */
const FLOOD_MS = 6_000;

let test: TestCluster;

beforeAll(async () => {
  // A stuck connection is closed after 2 s here (default 30 s) so the test sees the close.
  test = await startTestCluster("unread-replies", {
    ...SHIPPED_TIMING,
    extraArgs: ["--shutdown-timeout", "1s", "--client-stuck-timeout", "2s"],
  });
});

afterAll(async () => {
  await test?.dispose();
});

/** Connects, says hello, stops reading, then writes `get`/`status` requests until told to stop. */
function flood(address: string, stopAtMs: number): Promise<{ sent: number; closed: boolean }> {
  const [host, port] = address.split(":");
  const encoder = new FrameEncoder();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let closed = false;
    const socket = net.connect({ host, port: Number(port) });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
    });
    // The flood runs in its own async function: a throw in it fails this promise instead of
    // becoming an unhandled rejection of the event handler (and leaving flood() never settled).
    const pump = async (): Promise<void> => {
      socket.pause(); // Never read a reply.
      socket.write(encoder.encode(clientHello({ clientId: "flooder" })));
      const batch = (): Buffer => {
        const frames: Buffer[] = [];
        for (let i = 0; i < 256; i++) {
          sent++;
          frames.push(
            encoder.encode(
              sent % 2 === 0
                ? { type: "status", id: sent % 1_000_000_000 }
                : { type: "get", id: sent % 1_000_000_000, key: `k${sent % 64}` },
            ),
          );
        }
        return Buffer.concat(frames);
      };
      while (!closed && performance.now() < stopAtMs) {
        if (!socket.write(batch())) {
          await new Promise<void>((done) => {
            const timer = setTimeout(done, Math.max(0, stopAtMs - performance.now()));
            socket.once("drain", () => {
              clearTimeout(timer);
              done();
            });
            socket.once("close", () => {
              clearTimeout(timer);
              done();
            });
          });
        } else {
          await new Promise((done) => setImmediate(done));
        }
      }
    };
    socket.on("connect", () => {
      pump().then(() => resolve({ sent, closed }), reject);
    });
  });
}

it("four connections that never read their replies cost no election and are closed", async () => {
  const { cluster } = test;
  const before = await leadership(cluster);
  const leader = cluster.node(before.leader);
  process.stderr.write(
    formatLags(
      `before the unread-reply flood (leader ${before.leader})`,
      await eventLoopLags(cluster),
    ),
  );

  const stopAtMs = performance.now() + FLOOD_MS;
  const flooders = Array.from({ length: FLOODERS }, () => flood(leader.clientAddress, stopAtMs));
  // A normal client keeps taking and releasing a lock on the leader throughout the flood.
  const locker = new Locker({ endpoints: [leader.clientAddress, ...cluster.endpoints()] });
  let locked = 0;
  try {
    while (performance.now() < stopAtMs) {
      const lock = await locker.lock("unread-replies/normal", "normal", {
        ttl: SHIPPED_TTL_FLOOR_MS,
      });
      expect(await lock.release()).toEqual({ released: true, lost: false });
      locked++;
    }
  } finally {
    await locker.close();
  }
  const results = await Promise.all(flooders);
  process.stderr.write(
    formatLags(
      `after the unread-reply flood (leader ${before.leader})`,
      await eventLoopLags(cluster),
    ),
  );
  process.stderr.write(
    `flooders sent ${results.map((r) => r.sent).join(", ")} requests; normal client locked ${locked} times\n`,
  );

  expect(locked).toBeGreaterThan(0);
  // Every flooder's connection is closed by the leader for not reading its replies.
  await waitFor(
    "the leader to close every connection that does not read its replies",
    async () =>
      (await sumMetric(cluster, "dlock_client_connections_rejected_total", {
        reason: "SLOW_CONSUMER",
      })) >= FLOODERS,
    30_000,
    250,
  );
  const after = await leadership(cluster);
  expect(after).toEqual(before);
});
