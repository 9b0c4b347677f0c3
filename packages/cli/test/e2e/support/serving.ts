// The check that closes every bad-input test: no node exited, every node is ready, and a lock
// can still be taken and released through the cluster.
import { expect } from "vitest";
import { Locker } from "@dlock/client";
import type { LocalCluster } from "./cluster.js";
import { TTL_FLOOR_MS } from "./cluster.js";

export async function expectEveryNodeServing(cluster: LocalCluster): Promise<void> {
  for (const node of cluster.nodes) {
    expect(node.process, `${node.id} is still running`).not.toBeNull();
    expect(node.process!.exitCode).toBeNull();
  }
  await cluster.waitForLeader(30_000);
  await cluster.waitForReady(30_000);
  // Through each node as the first endpoint, so each one answers (or redirects) a real client.
  for (const endpoint of cluster.endpoints()) {
    const locker = new Locker({ endpoints: [endpoint, ...cluster.endpoints()] });
    try {
      const lock = await locker.lock("still-serving", `via-${endpoint}`, { ttl: TTL_FLOOR_MS });
      expect(await lock.release()).toEqual({ released: true, lost: false });
    } finally {
      await locker.close();
    }
  }
}
