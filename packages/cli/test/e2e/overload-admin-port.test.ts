// Issue 10, admin port: 1,000 concurrent /metrics requests on the leader must not cost an
// election (same leader, same term on every node); the port keeps answering afterwards.
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SHIPPED_TIMING, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { eventLoopLags, formatLags, leadership } from "./support/leadership.js";

const REQUESTS = 1_000;

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("admin-flood", SHIPPED_TIMING);
});

afterAll(async () => {
  await test?.dispose();
});

/** One GET on its own connection; resolves with the status code, or 0 if refused or reset. */
function get(address: string, path: string): Promise<number> {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const request = http.get({ host, port: Number(port), path, agent: false }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
      response.on("error", () => resolve(0));
    });
    request.on("error", () => resolve(0));
    request.setTimeout(60_000, () => request.destroy());
  });
}

it("1,000 concurrent /metrics requests on the leader cost no election", async () => {
  const { cluster } = test;
  const before = await leadership(cluster);
  const leader = cluster.node(before.leader);
  process.stderr.write(
    formatLags(`before the /metrics flood (leader ${before.leader})`, await eventLoopLags(cluster)),
  );

  const codes = await Promise.all(
    Array.from({ length: REQUESTS }, () => get(leader.httpAddress, "/metrics")),
  );
  const answered = codes.filter((code) => code === 200).length;
  process.stderr.write(
    formatLags(`after the /metrics flood (leader ${before.leader})`, await eventLoopLags(cluster)),
  );
  process.stderr.write(
    `/metrics flood: ${answered} answered 200, ${codes.filter((c) => c === 503).length} 503, ${codes.filter((c) => c === 0).length} refused or reset\n`,
  );

  expect(answered).toBeGreaterThan(0);
  expect(await get(leader.httpAddress, "/metrics")).toBe(200);
  const after = await leadership(cluster);
  expect(after).toEqual(before);
});
