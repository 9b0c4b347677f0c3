// A voter removed from a running cluster must hear that its removal committed: until it does it
// keeps the change uncommitted in its log, stays promotable and, hearing no leader, campaigns.
// Members that know the commit refuse it, but a lagging member could take its term. The leader
// keeps heartbeating it after the commit (Raft core, departures.ts); this checks that those
// heartbeats and its answers really cross the wire: once the leader applies the removal the
// node is no longer a member, and the peer transport would drop its link and refuse its answers.
// If that leader stops first, the next leader tells it when its vote request arrives: members
// must accept a former member's connection, and know its address (PeerDirectory).
// Three DlockServers run in this process over real TCP.
import { afterEach, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import { InProcessCluster } from "./in-process-cluster.js";
import type { InProcessNode } from "./in-process-cluster.js";
import { waitUntil } from "./support.js";

const CLUSTER = "dlock-removed-voter-test";

describe("a voter removed from a running cluster (in-process servers, real sockets)", () => {
  const cluster = new InProcessCluster();
  afterEach(() => cluster.stop());

  /** Starts the servers; returns the healthy leader and a follower to remove. */
  async function startWithLeader(prefix: string) {
    const nodes = await cluster.start({ prefix, clusterId: CLUSTER });
    const leader = await waitUntil(
      "a leader",
      async () =>
        nodes.find((n) => n.server.status().role === "leader" && n.server.status().healthy) ?? null,
    );
    return { leader, removed: nodes.find((n) => n !== leader) as InProcessNode };
  }

  it("learns that its removal committed, and the leader stops tracking it", async () => {
    const { leader, removed } = await startWithLeader("removed-voter");
    const admin = new Locker({ endpoints: [leader.client], clusterId: CLUSTER });
    try {
      const answer = await admin.removeMember(removed.id);
      expect(answer.members.map((m) => m.id)).not.toContain(removed.id);
      const term = leader.server.status().term;

      // It learns the commit only from the leader's messages after the commit.
      const learnt = await waitUntil(
        `${removed.id} learns its removal committed (commit ≥ ${answer.commitIndex})`,
        async () => {
          const status = removed.server.status();
          return status.commit >= answer.commitIndex ? status : null;
        },
        60_000,
      );
      expect(learnt.confState.voters).not.toContain(removed.id);
      // It echoed a heartbeat that carried the commit: the leader forgets it.
      await waitUntil(
        `${leader.id} stops tracking ${removed.id}`,
        async () => (leader.server.status().progress?.[removed.id] === undefined ? true : null),
        60_000,
      );
      // Nothing deposed the leader on the way.
      expect(leader.server.status()).toMatchObject({ role: "leader", term });
    } finally {
      await admin.close();
    }
  }, 180_000);

  it("learns it from the next leader when the leader that committed it stopped first", async () => {
    const { leader: first, removed } = await startWithLeader("removed-voter-new-leader");
    // It misses everything about its removal: it is down while the removal commits.
    await removed.server.stop();
    const admin = new Locker({ endpoints: [first.client], clusterId: CLUSTER });
    let commitIndex: number;
    try {
      const answer = await admin.removeMember(removed.id);
      commitIndex = answer.commitIndex;
    } finally {
      await admin.close();
    }
    // The leader that committed it (and would tell it) stops, and starts again with no memory of
    // that: whoever leads now learns of the removed node only when it asks for votes.
    await cluster.restart(first.id);
    const back = await cluster.restart(removed.id);
    const learnt = await waitUntil(
      `${removed.id} learns its removal committed (commit ≥ ${commitIndex})`,
      async () => {
        const status = back.server.status();
        return status.commit >= commitIndex ? status : null;
      },
      60_000,
    );
    expect(learnt.confState.voters).not.toContain(removed.id);
    const members = cluster.nodes.filter((n) => n.id !== removed.id);
    const leader = await waitUntil(
      `a leader stops tracking ${removed.id}`,
      async () =>
        members.find((n) => {
          const status = n.server.status();
          return status.role === "leader" && status.progress?.[removed.id] === undefined;
        }) ?? null,
      60_000,
    );
    // It never raised a member's term: it took the leader's.
    expect(back.server.status().term).toBeLessThanOrEqual(leader.server.status().term);
  }, 180_000);
});
