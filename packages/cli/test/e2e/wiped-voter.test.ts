// A voter whose data folder is lost and that is started again without --join must not found a
// cluster of its own (it forgot its votes and the entries it acknowledged, and would answer
// /readyz with an empty table): its peers know its data folder by id and refuse it. The documented
// way back (member remove, --join on the empty folder, member add, promote) still works.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigChangeRefusedError, Locker } from "@dlock/client";
import { startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { waitFor } from "./support/wait.js";

const TTL_MS = 10 * 60_000;

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("wiped-voter");
});

afterAll(async () => {
  await test?.dispose();
});

async function ready(id: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${test.cluster.node(id).httpAddress}/readyz`, {
      signal: AbortSignal.timeout(2_000),
    });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function logOf(id: string): Promise<string> {
  return readFile(test.cluster.node(id).logFile, "utf8");
}

describe("a voter restarted on a wiped data folder", () => {
  it("is refused by its peers without --join, and rejoins the documented way", async () => {
    const { cluster } = test;
    const admin = new Locker({ endpoints: cluster.endpoints() });
    try {
      const held = await admin.acquire("kept", "holder", { ttl: TTL_MS });
      const leader = await cluster.waitForLeader();
      const wiped = cluster.nodes.map((n) => n.id).find((id) => id !== leader) as string;
      const other = cluster.nodes.map((n) => n.id).find((id) => id !== leader && id !== wiped);
      const termBefore = (await cluster.status(leader))?.term;

      await cluster.kill(wiped, "SIGKILL");
      await cluster.wipe(wiped);
      cluster.restart(wiped);
      // Either outcome ends the wait: the refusal (fixed) or the hazard (ready on an empty table).
      const outcome = await waitFor(
        `${wiped} refused by a peer or ready`,
        async () => {
          if ((await logOf(wiped)).includes("dataReplaced")) return "refused";
          return (await ready(wiped)) ? "ready" : false;
        },
        60_000,
        100,
      );
      expect(outcome).toBe("refused");
      await waitFor(
        `${leader} logged that it refused ${wiped}`,
        async () => (await logOf(leader)).includes("dataReplaced"),
        30_000,
      );
      expect(await ready(wiped)).toBe(false);
      const wipedStatus = await cluster.status(wiped);
      expect(wipedStatus?.leader ?? null).toBeNull();
      expect(wipedStatus?.commitIndex).toBeLessThan(held.fencingToken);
      // The healthy majority kept its leader and its table.
      expect((await cluster.status(leader))?.term).toBe(termBefore);
      expect(await admin.get("kept")).toMatchObject({
        held: true,
        fencingToken: held.fencingToken,
      });

      // The way back: remove it, start it with --join on an empty folder, add and promote it.
      await cluster.kill(wiped, "SIGKILL");
      await cluster.wipe(wiped);
      await admin.removeMember(wiped);
      await admin.addMember(wiped, cluster.node(wiped).peerAddress);
      cluster.restart(wiped, ["--join"]);
      await waitFor(
        `${wiped} promoted`,
        async () => {
          try {
            await admin.promoteMember(wiped);
            return true;
          } catch (error) {
            if (error instanceof ConfigChangeRefusedError && error.refusal === "notCaughtUp") {
              return false;
            }
            throw error;
          }
        },
        60_000,
        200,
      );
      await cluster.waitForReady(60_000, [wiped]);
      // With the other follower gone, every commit needs the rejoined voter.
      await cluster.kill(other as string, "SIGKILL");
      const grant = await admin.acquire("after-rejoin", "v", { ttl: TTL_MS });
      expect(grant.fencingToken).toBeGreaterThan(held.fencingToken);
    } finally {
      await admin.close();
    }
  }, 240_000);
});
