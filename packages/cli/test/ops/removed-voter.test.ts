// A voter removed from a running cluster must hear that its removal committed: until it does it
// keeps the change uncommitted in its log, stays promotable and, hearing no leader, campaigns.
// Members that know the commit refuse it, but a lagging member could take its term. The leader
// keeps heartbeating it after the commit (Raft core, departures.ts); this checks that those
// heartbeats and its answers really cross the wire: once the leader applies the removal the
// node is no longer a member, and the peer transport would drop its link and refuse its answers.
// If that leader stops first, the next leader tells it when its vote request arrives: members
// must accept a former member's connection, and know its address (PeerDirectory). Both hold
// after the removal is compacted and the members restart: the members record keeps removed voters.
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

  /** Removes a follower while it is down, so it misses everything about its removal. */
  async function removeWhileDown(prefix: string) {
    const { leader: first, removed } = await startWithLeader(prefix);
    await removed.server.stop();
    const admin = new Locker({ endpoints: [first.client], clusterId: CLUSTER });
    try {
      const { commitIndex } = await admin.removeMember(removed.id);
      return { first, removed, commitIndex };
    } finally {
      await admin.close();
    }
  }

  /** Waits until `node` (started again after its removal) knows the removal committed. */
  async function learnsRemoval(node: InProcessNode, commitIndex: number) {
    const learnt = await waitUntil(
      `${node.id} learns its removal committed (commit ≥ ${commitIndex})`,
      async () => {
        const status = node.server.status();
        return status.commit >= commitIndex ? status : null;
      },
      60_000,
    );
    expect(learnt.confState.voters).not.toContain(node.id);
  }

  /** Waits until a member leads and no longer tracks the removed node; returns that leader. */
  function leaderStopsTracking(removedId: string): Promise<InProcessNode> {
    return waitUntil(
      `a leader stops tracking ${removedId}`,
      async () =>
        cluster.nodes.find((n) => {
          if (n.id === removedId) return false;
          const status = n.server.status();
          return status.role === "leader" && status.progress?.[removedId] === undefined;
        }) ?? null,
      60_000,
    );
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
    const { first, removed, commitIndex } = await removeWhileDown("removed-voter-new-leader");
    // The leader that committed it (and would tell it) stops, and starts again with no memory of
    // that: whoever leads now learns of the removed node only when it asks for votes.
    await cluster.restart(first.id);
    const back = await cluster.restart(removed.id);
    await learnsRemoval(back, commitIndex);
    const leader = await leaderStopsTracking(removed.id);
    // It never raised a member's term: it took the leader's.
    expect(back.server.status().term).toBeLessThanOrEqual(leader.server.status().term);
  }, 180_000);

  it("learns it from members that compacted the removal and restarted without its address", async () => {
    const { removed, commitIndex } = await removeWhileDown("removed-voter-compacted");
    const members = cluster.nodes.filter((n) => n.id !== removed.id);
    // The members restart with tiny compaction and a command line that no longer names it.
    for (const member of members) {
      const peers = { ...member.options.peers };
      delete peers[removed.id];
      member.options = { ...member.options, peers, compactionEntries: 4 };
      await cluster.restart(member.id);
    }
    // Writes until both have compacted the removal away.
    const locker = new Locker({ endpoints: members.map((n) => n.client), clusterId: CLUSTER });
    try {
      let written = 0;
      await waitUntil(
        `both members compact past the removal at ${commitIndex}`,
        async () => {
          const key = `compact/${written++}`;
          await locker.acquire(key, "v", { ttl: "1m" });
          await locker.release(key, "v");
          const compacted = cluster.nodes
            .filter((n) => n.id !== removed.id)
            .every((n) => n.server.status().snapshotIndex >= commitIndex);
          return compacted ? true : null;
        },
        60_000,
      );
    } finally {
      await locker.close();
    }
    // Restarted again, their cores remember nothing of the removal: only the members record does.
    for (const member of members) await cluster.restart(member.id);
    const back = await cluster.restart(removed.id);
    await learnsRemoval(back, commitIndex);
    await leaderStopsTracking(removed.id);
  }, 180_000);
});
