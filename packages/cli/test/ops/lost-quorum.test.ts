// Lost quorum on real processes: two of three nodes are gone for good; the survivor restarted with
// `dlock server --force-new-cluster` becomes the only member, serves every lock it held with the
// same holder and token, grants new tokens above all of them, and a fresh node added with
// `dlock member add` / `promote` makes a two-voter cluster that commits.
import { afterEach, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import type { MembersResult } from "@dlock/client";
import { CLUSTER_ID, runDlock, startCluster, waitUntil } from "./support.js";

const LOCKS = 200;
const TTL = "50m";

describe("lost quorum (real processes)", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("a survivor restarted with --force-new-cluster keeps its locks and tokens and takes new members", async () => {
    const started = await startCluster("lost-quorum");
    const cluster = started.cluster;
    cleanup = started.cleanup;
    const leader = await cluster.waitForLeader();
    await cluster.waitForReady();
    const locker = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
    const held = new Map<string, number>();
    try {
      for (let i = 0; i < LOCKS; i++) {
        const grant = await locker.acquire(`lq/${i}`, `holder-${i}`, { ttl: TTL });
        held.set(grant.key, grant.fencingToken);
      }
    } finally {
      await locker.close();
    }
    const maxHeld = Math.max(...held.values());
    // Every acknowledged grant is on a quorum; wait until the survivor has applied all of them.
    const survivor = cluster.nodes.find((n) => n.id !== leader)!.id;
    const lostIds = cluster.nodes.map((n) => n.id).filter((id) => id !== survivor);
    await waitUntil("the survivor applied every grant", async () => {
      const status = await cluster.status(survivor);
      return status !== null && status.appliedIndex >= maxHeld;
    });

    for (const id of lostIds) await cluster.kill(id);
    await cluster.kill(survivor);
    cluster.restart(survivor, ["--force-new-cluster"]);
    expect(await cluster.waitForLeader(60_000, [survivor])).toBe(survivor);
    await cluster.waitForReady(60_000, [survivor]);

    const alone = new Locker({
      endpoints: [cluster.node(survivor).clientAddress],
      clusterId: CLUSTER_ID,
    });
    try {
      const members = (await alone.members()).members.map((m) => [m.id, m.kind]);
      expect(members).toEqual([[survivor, "voter"]]);
      const wrong: string[] = [];
      for (const [key, token] of held) {
        const got = await alone.get(key);
        const i = key.slice("lq/".length);
        if (!got.held || got.value !== `holder-${i}` || got.fencingToken !== token) {
          wrong.push(`${key}: ${JSON.stringify(got)}, held with token ${token}`);
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      const after = await alone.acquire("lq/after", "v", { ttl: TTL });
      expect(after.fencingToken).toBeGreaterThan(maxHeld);

      // ---- a fresh node joins the one-member cluster -------------------------------------------
      const fresh = await cluster.addNode("n4");
      const endpoints = [
        "--endpoints",
        cluster.node(survivor).clientAddress,
        "--cluster-id",
        CLUSTER_ID,
      ];
      const added = await runDlock(["member", "add", `n4=${fresh.peerAddress}`, ...endpoints]);
      expect(added.stderr).toBe("");
      expect(added.code).toBe(0);
      await waitUntil(
        "n4 caught up and was promoted",
        async () => {
          const promoted = await runDlock(["member", "promote", "n4", ...endpoints]);
          if (promoted.code === 0) return true;
          expect(promoted.stderr).toMatch(/refused \(notCaughtUp\)/);
          return null;
        },
        120_000,
      );
      const two = (await alone.members()) as MembersResult;
      expect(two.members.map((m) => [m.id, m.kind]).sort()).toEqual(
        [
          [survivor, "voter"],
          ["n4", "voter"],
        ].sort(),
      );
      // Two voters: this grant commits only with n4's vote, and its token keeps growing.
      const withN4 = await alone.acquire("lq/with-n4", "v", { ttl: TTL });
      expect(withN4.fencingToken).toBeGreaterThan(after.fencingToken);
      const n4Status = await waitUntil("n4 applied the last grant", async () => {
        const status = await cluster.status("n4");
        return status !== null && status.appliedIndex >= withN4.fencingToken ? status : null;
      });
      expect(n4Status.appliedIndex).toBeGreaterThanOrEqual(withN4.fencingToken);
    } finally {
      await alone.close();
    }
  }, 600_000);
});
