// A node whose disk stops taking writes (an injected ENOSPC on every storage write): it refuses
// requests with a typed error that sends clients to another node, /healthz and /readyz fail with
// the reason, nothing it could not write is acknowledged, and it resumes once writes work again.
// Three DlockServers run in this process over real TCP (peer, client and admin ports).
import { afterEach, describe, expect, it } from "vitest";
import { ClusterUnavailableError, Locker } from "@dlock/client";
import { withStorageWriteFault } from "@dlock/server/internal";
import { InProcessCluster } from "./in-process-cluster.js";
import type { InProcessNode as Node } from "./in-process-cluster.js";
import { waitUntil } from "./support.js";

const CLUSTER = "dlock-disk-test";

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("a disk that stops taking writes (in-process servers, real sockets)", () => {
  const cluster = new InProcessCluster();
  afterEach(() => cluster.stop());

  it("refuses with a typed error, fails /healthz and /readyz, acknowledges nothing unwritten, and resumes", async () => {
    let broken = "";
    const nodes = await cluster.start({
      prefix: "disk",
      clusterId: CLUSTER,
      dependenciesOf: (id) =>
        withStorageWriteFault({}, () =>
          broken === id
            ? Object.assign(new Error("ENOSPC: no space left on device, write"), {
                code: "ENOSPC",
              })
            : undefined,
        ),
    });
    const leaderOf = () =>
      nodes.find((n) => n.server.status().role === "leader" && n.server.status().healthy);
    const leader = await waitUntil("a leader", async () => leaderOf() ?? null);
    const locker = new Locker({ endpoints: nodes.map((n) => n.client), clusterId: CLUSTER });
    try {
      const before = await locker.acquire("before", "v1", { ttl: "1m" });
      expect((await getJson(`${leader.http}/healthz`)).status).toBe(200);

      broken = leader.id;
      // The client's next request fails on the leader's disk and goes elsewhere: it succeeds
      // once the others elect a leader, within the client's own deadline.
      const during = await locker.acquire("during", "v2", { ttl: "1m" });
      const next = leaderOf();
      expect(next).toBeDefined();
      expect(next?.id).not.toBe(leader.id);

      const health = await waitUntil("/healthz reports the disk", async () => {
        const answer = await getJson(`${leader.http}/healthz`);
        return answer.status === 503 && /ENOSPC/.test(String(answer.body.detail)) ? answer : null;
      });
      expect(health.body).toMatchObject({ ok: false, reason: "storage-unwritable" });
      const ready = await getJson(`${leader.http}/readyz`);
      expect(ready).toMatchObject({ status: 503, body: { ready: false, reason: "unhealthy" } });
      const metrics = await (await fetch(`${leader.http}/metrics`)).text();
      expect(metrics).toMatch(/^dlock_node_healthy\{[^}]*\} 0$/m);

      // Asked alone, it never serves: the client gives up on it with the typed "unavailable".
      // (Each refusal is NOT_LEADER without a hint, naming the disk: see wire-errors.test.ts.)
      const direct = new Locker({
        endpoints: [leader.client],
        clusterId: CLUSTER,
        unavailableTimeoutMs: 1_500,
      });
      try {
        const refused = await direct
          .acquire("direct", "v3", { ttl: "1m" })
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ClusterUnavailableError);
      } finally {
        await direct.close();
      }
      expect(leader.server.status().failure).toMatch(/cannot write to the data folder.*ENOSPC/);
      // Its durable log stayed where it was: nothing of "during" reached its disk.
      const stalled = leader.server.status();
      expect(stalled.healthy).toBe(false);
      expect(stalled.lastIndex).toBeLessThan((next as Node).server.status().lastIndex);

      broken = "";
      await waitUntil("/healthz passes again", async () =>
        (await getJson(`${leader.http}/healthz`)).status === 200 ? true : null,
      );
      await waitUntil("/readyz passes again", async () =>
        (await getJson(`${leader.http}/readyz`)).status === 200 ? true : null,
      );
      // It led an older term: the new leader's first message makes it a follower.
      await waitUntil("it follows the new leader", async () =>
        leader.server.status().role === "follower" ? true : null,
      );
      await waitUntil("it caught up with the new leader", async () =>
        leader.server.status().applied >= (next as Node).server.status().commit ? true : null,
      );
      expect(await locker.get("before")).toMatchObject({
        held: true,
        fencingToken: before.fencingToken,
      });
      expect(await locker.get("during")).toMatchObject({
        held: true,
        fencingToken: during.fencingToken,
      });
      const after = await locker.acquire("after", "v4", { ttl: "1m" });
      expect(after.fencingToken).toBeGreaterThan(during.fencingToken);
    } finally {
      await locker.close();
    }
  }, 120_000);
});
