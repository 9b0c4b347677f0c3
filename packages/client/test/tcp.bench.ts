// Not a test: client + protocol overhead over loopback TCP against the in-process fake node (no
// Raft, no disk), so an upper bound of what the client side allows.
// Run: npx vitest bench --run packages/client
import { afterAll, beforeAll, bench, describe } from "vitest";
import { Locker } from "../src/index.js";
import { systemClock } from "../src/internal.js";
import { FakeCluster } from "./support/fake-cluster.js";
import { FakeTcpServer } from "./support/tcp-fake-server.js";

const cluster = new FakeCluster(systemClock, [], "n1");
const server = new FakeTcpServer({ nodeId: "n1", clusterId: "c1", cluster });
let locker: Locker;
let round = 0;

beforeAll(async () => {
  const address = await server.listen();
  cluster.nodes.set("n1", { id: "n1", address, paused: false, down: false });
  locker = new Locker({ endpoints: [address] });
});

afterAll(async () => {
  await locker.close();
  await server.close();
});

describe("acquire + release over loopback TCP (fake node)", () => {
  bench(
    "1 client, serial cycle",
    async () => {
      const key = `serial-${round++}`;
      const grant = await locker.acquire(key, "v");
      await locker.release(key, "v", { token: grant.fencingToken });
    },
    { time: 3_000 },
  );
  bench(
    "64 concurrent cycles on distinct keys (one batch)",
    async () => {
      const batch = round++;
      await Promise.all(
        Array.from({ length: 64 }, async (_, i) => {
          const key = `batch-${batch}-${i}`;
          const grant = await locker.acquire(key, "v");
          await locker.release(key, "v", { token: grant.fencingToken });
        }),
      );
    },
    { time: 3_000 },
  );
});
