// Membership on real processes: grow 3 → 5 and shrink 5 → 3 (removing the leader) while clients
// hold and take locks, with `dlock member` and the client's admin API; and a node whose data
// folder was lost rejoins as a new member, receives a snapshot and serves.
import { afterEach, describe, expect, it } from "vitest";
import { ConfigChangeRefusedError, Locker } from "@dlock/client";
import type { MembersResult } from "@dlock/client";
import type { LocalCluster } from "@dlock/tools";
import { FencedWorkload, historyProblems } from "./fenced-workload.js";
import { CLUSTER_ID, runDlock, startCluster, testSeed, waitUntil } from "./support.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("membership changes (real processes)", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("grows 3 → 5 and shrinks 5 → 3, removing the leader, while clients hold and take locks", async () => {
    let cluster: LocalCluster;
    ({ cluster, cleanup } = await startCluster("membership"));
    await cluster.waitForLeader();
    await cluster.waitForReady();
    const endpointsFlag = () => [
      "--endpoints",
      cluster.endpoints().join(","),
      "--cluster-id",
      CLUSTER_ID,
    ];
    const memberCli = async (...args: string[]) =>
      runDlock(["member", ...args, ...endpointsFlag()]);
    const admin = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
    const workload = new FencedWorkload({
      endpoints: cluster.endpoints(),
      clusterId: CLUSTER_ID,
      seed: testSeed("membership grow/shrink"),
    });
    await workload.start();
    try {
      const listed = await memberCli("list", "--json");
      expect(listed.code).toBe(0);
      const initial = JSON.parse(listed.stdout) as MembersResult;
      expect(initial.members.map((m) => [m.id, m.kind])).toEqual([
        ["n1", "voter"],
        ["n2", "voter"],
        ["n3", "voter"],
      ]);

      // ---- grow: n4 with the CLI -------------------------------------------------------------
      const n4 = await cluster.addNode("n4");
      const promoteUnknown = await memberCli("promote", "n4");
      expect(promoteUnknown.code).toBe(1);
      expect(promoteUnknown.stderr).toMatch(/refused \(invalid\): n4 is not a learner/);
      const added = await memberCli("add", `n4=${n4.peerAddress}`, "--json");
      expect(added.code).toBe(0);
      expect((JSON.parse(added.stdout) as MembersResult).members).toContainEqual(
        expect.objectContaining({ id: "n4", kind: "learner", peerAddress: n4.peerAddress }),
      );
      const readdAt = await admin.addMember("n4", "127.0.0.1:1").catch((e: unknown) => e);
      expect(readdAt).toBeInstanceOf(ConfigChangeRefusedError);
      expect((readdAt as ConfigChangeRefusedError).refusal).toBe("invalid");
      await promoteWhenCaughtUp(() => memberCli("promote", "n4"));

      // ---- grow: n5 with the client's admin API ---------------------------------------------
      const n5 = await cluster.addNode("n5");
      await admin.addMember("n5", n5.peerAddress);
      await promoteWhenCaughtUp(async () => {
        try {
          await admin.promoteMember("n5");
          return { code: 0, stdout: "", stderr: "" };
        } catch (error) {
          return {
            code: 1,
            stdout: "",
            stderr: `refused (${(error as ConfigChangeRefusedError).refusal})`,
          };
        }
      });
      const five = await admin.members();
      expect(
        five.members
          .filter((m) => m.kind === "voter")
          .map((m) => m.id)
          .sort(),
      ).toEqual(["n1", "n2", "n3", "n4", "n5"]);
      await waitUntil("every node knows five voters", async () => {
        const statuses = await Promise.all(
          ["n1", "n2", "n3", "n4", "n5"].map((id) => cluster.status(id)),
        );
        return statuses.every((s) => s?.members.filter((m) => m.kind === "voter").length === 5);
      });

      // A restarted node knows the members from its data, not from its command line (n2 was
      // started with n1..n3 only): it lists n4 and n5 with their addresses and reaches them.
      await cluster.kill("n2", "SIGTERM");
      cluster.restart("n2");
      await cluster.waitForReady(30_000, ["n2"]);
      const n2 = await waitUntil("n2 lists and reaches n4 and n5", async () => {
        const status = await cluster.status("n2");
        const far = status?.members.filter((m) => m.id === "n4" || m.id === "n5") ?? [];
        return far.length === 2 && far.every((m) => m.healthy) ? status : null;
      });
      expect(n2?.members.find((m) => m.id === "n5")?.peerAddress).toBe(n5.peerAddress);

      // ---- shrink: remove the leader, then one more ------------------------------------------
      const leader = await cluster.waitForLeader();
      const afterRemoval = await admin.removeMember(leader);
      expect(afterRemoval.members.map((m) => m.id)).not.toContain(leader);
      const next = await waitUntil("a new leader among the four", async () => {
        const id = await cluster
          .waitForLeader(
            2_000,
            ["n1", "n2", "n3", "n4", "n5"].filter((n) => n !== leader),
          )
          .catch(() => null);
        return id;
      });
      expect(next).not.toBe(leader);
      const removed = await cluster.status(leader);
      expect(removed?.role).not.toBe("leader");
      const readyz = await fetch(`http://${cluster.node(leader).httpAddress}/readyz`);
      expect(await readyz.json()).toMatchObject({ ready: false, reason: "not-a-member" });
      await cluster.kill(leader, "SIGTERM");
      const second = ["n1", "n2", "n3", "n4", "n5"].find((id) => id !== leader && id !== next)!;
      await admin.removeMember(second);
      await cluster.kill(second, "SIGTERM");
      const three = await admin.members();
      expect(three.members.map((m) => m.id).sort()).toEqual(
        ["n1", "n2", "n3", "n4", "n5"].filter((id) => id !== leader && id !== second).sort(),
      );
      expect(three.members.every((m) => m.kind === "voter" && m.healthy)).toBe(true);

      await sleep(2_000); // more lock traffic on the three
      const report = await workload.stop();
      console.log(
        `membership: ${report.cycles} lock cycles, ${report.failures.length} failed, ${report.lostHeld.length} held locks lost`,
      );
      expect(report.cycles).toBeGreaterThan(100);
      expect(historyProblems(report.history)).toEqual([]);
      expect(report.staleWrites).toBe(0);
      expect(report.failures).toEqual([]);
      expect(report.lostHeld).toEqual([]);
      for (const { key, token } of report.held) {
        expect(await workload.get(key)).toMatchObject({ held: true, fencingToken: token });
      }
    } finally {
      await workload.close();
      await admin.close();
    }
  }, 240_000);

  it("a node whose data folder was lost rejoins as a new member, gets a snapshot and serves", async () => {
    let cluster: LocalCluster;
    ({ cluster, cleanup } = await startCluster("rejoin", {
      extraArgs: ["--compaction-entries", "500"],
    }));
    await cluster.waitForLeader();
    await cluster.waitForReady();
    const admin = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
    try {
      for (let i = 0; i < 2_000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            admin.acquire(`rejoin/${i + j}`, "v", { ttl: "10m" }),
          ),
        );
      }
      // n3's disk is lost. Raft cannot take it back as the same voter (it forgot its votes and the
      // entries it acknowledged): it is removed and added again, and catches up as a learner.
      if ((await cluster.waitForLeader()) === "n3") await cluster.kill("n3", "SIGTERM");
      await cluster.kill("n3", "SIGKILL");
      await cluster.wipe("n3");
      const leader = await cluster.waitForLeader(30_000, ["n1", "n2"]);
      await admin.removeMember("n3");
      await admin.addMember("n3", cluster.node("n3").peerAddress);
      cluster.restart("n3", ["--join"]);
      const log = await waitUntil("n3 installed a snapshot", async () => {
        const raftLog = (await cluster.status("n3"))?.raftLog;
        return raftLog !== undefined && raftLog.snapshotsInstalled >= 1 ? raftLog : null;
      });
      expect(log.snapshotIndex).toBeGreaterThan(1_500);
      await promoteWhenCaughtUp(async () => {
        try {
          await admin.promoteMember("n3");
          return { code: 0, stdout: "", stderr: "" };
        } catch (error) {
          return {
            code: 1,
            stdout: "",
            stderr: `refused (${(error as ConfigChangeRefusedError).refusal})`,
          };
        }
      });
      await cluster.waitForReady(30_000, ["n3"]);
      // n3 serves: with the other follower gone, every commit needs n3.
      const other = leader === "n1" ? "n2" : "n1";
      await cluster.kill(other, "SIGKILL");
      const grant = await admin.acquire("after-rejoin", "v", { ttl: "10m" });
      expect(grant.fencingToken).toBeGreaterThan(2_000);
      expect(await admin.get("rejoin/1999")).toMatchObject({ held: true });
    } finally {
      await admin.close();
    }
  }, 180_000);
});

/** Promotes with `promote` until it is no longer refused because the learner is behind. */
async function promoteWhenCaughtUp(
  promote: () => Promise<{ code: number | null; stdout: string; stderr: string }>,
): Promise<void> {
  await waitUntil(
    "the learner caught up and was promoted",
    async () => {
      const answer = await promote();
      if (answer.code === 0) return true;
      expect(answer.stderr).toMatch(/refused \(notCaughtUp\)/);
      return null;
    },
    60_000,
  );
}
