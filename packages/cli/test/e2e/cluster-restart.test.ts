// Issue 3, "what it must show" #5: stopping every node (SIGTERM) and starting them again on the
// same data folders keeps the lock table: a held lock is still held by the same value with the
// same token, a lock released before the stop stays free, and new tokens stay larger.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockBusyError, Locker } from "@dlock/client";
import { runningNodes, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { waitFor } from "./support/wait.js";

/** Longer than the whole stop and start: nothing refreshes the held lock meanwhile. */
const TTL_MS = 60_000;

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("restart");
});

afterAll(async () => {
  await test?.dispose();
});

describe("restart of the whole cluster", () => {
  it("keeps the lock table across SIGTERM of every node and a start on the same data", async () => {
    const before = new Locker({ endpoints: test.cluster.endpoints() });
    // `acquire` takes the lock without a refresh loop: the grant must live in the cluster alone.
    const held = await before.acquire("kept", "holder", { ttl: TTL_MS });
    const released = await before.acquire("freed", "holder", { ttl: TTL_MS });
    expect(await before.release("freed", "holder", { token: released.fencingToken })).toEqual({
      released: true,
    });
    await before.close();

    await test.cluster.stop(15_000);
    expect(runningNodes(test.cluster)).toEqual([]);
    // Each node shut down gracefully (flushed and closed), not killed after the grace period.
    for (const node of test.cluster.nodes) {
      await waitFor(`${node.id} logged its graceful stop`, async () =>
        (await readFile(node.logFile, "utf8")).includes('"msg":"dlock server stopped"'),
      );
    }
    const cluster = await test.startAgain();

    const after = new Locker({ endpoints: cluster.endpoints() });
    try {
      const kept = await after.get("kept");
      expect(kept).toMatchObject({ held: true, value: "holder", fencingToken: held.fencingToken });
      // A new leader gives every lease a full TTL from its election.
      expect(kept.ttlRemainingMs).toBeGreaterThan(TTL_MS / 2);
      expect(await after.get("freed")).toMatchObject({
        held: false,
        value: null,
        fencingToken: null,
      });

      await expect(after.acquire("kept", "someone-else", { ttl: TTL_MS })).rejects.toBeInstanceOf(
        LockBusyError,
      );
      const next = await after.acquire("freed", "next", { ttl: TTL_MS });
      expect(next.fencingToken).toBeGreaterThan(Math.max(held.fencingToken, released.fencingToken));
      // The holder from before the restart can still release its grant, and only that grant.
      expect(await after.release("kept", "holder", { token: held.fencingToken })).toEqual({
        released: true,
      });
      expect(await after.release("freed", "next", { token: next.fencingToken })).toEqual({
        released: true,
      });
      expect(await after.get("kept")).toMatchObject({ held: false });
    } finally {
      await after.close();
    }
  });
});
