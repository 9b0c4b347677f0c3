// A release whose answer is lost (the connection breaks after the node applied it) is retried by
// the client; the retry finds the grant already gone. The lock was never lost: the client held it
// until its own release freed it, so release() must not report it lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import { startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { ReplyDroppingProxy } from "./support/reply-dropping-proxy.js";

const TTL_MS = 10_000;

let test: TestCluster;
let proxy: ReplyDroppingProxy;

beforeAll(async () => {
  test = await startTestCluster("release-retry");
  const leader = await test.cluster.waitForLeader();
  // Straight to the leader: no redirect can bypass the proxy.
  proxy = await ReplyDroppingProxy.start(test.cluster.node(leader).clientAddress);
});

afterAll(async () => {
  await proxy?.close();
  await test?.dispose();
});

describe("a release whose answer is lost", () => {
  it("is retried and reports the lock released, not lost", async () => {
    const locker = new Locker({ endpoints: [proxy.address] });
    try {
      const lock = await locker.lock("retried", "holder", { ttl: TTL_MS });
      let lostReported = false;
      lock.onLost(() => (lostReported = true));
      proxy.dropNextReply("release");
      const outcome = await lock.release();
      // The first release was applied and its answer swallowed; the client sent it again.
      expect(proxy.dropped).toBe(1);
      expect(proxy.requests.get("release")).toBe(2);
      expect(await locker.get("retried")).toMatchObject({ held: false });
      // Well within the TTL: the grant can only have ended by this very release.
      expect(outcome).toEqual({ released: true, lost: false });
      expect(lock.state).toBe("released");
      expect(lostReported).toBe(false);
    } finally {
      await locker.close();
    }
  });
});
