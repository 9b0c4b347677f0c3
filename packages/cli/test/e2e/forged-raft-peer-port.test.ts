// Issue 10: Raft input is a protocol boundary. A connection that completed the peer hello as a
// member (on plaintext loopback a raw socket can name any member; with mutual TLS it would have to
// be that member) sends what no correct member would: a forged append posing as a leader with a
// `release` entry followed by timeoutNow, forged timeoutNow and transfer votes, a vote with term
// 2^53 − 1, fake acks for a learner nobody runs. None of it may release a lock, move leadership,
// persist an unrecoverable term or promote the learner; and a node whose data folder holds such a
// term (written by an older version) rejoins by itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigChangeRefusedError, Locker } from "@dlock/client";
import { LevelStorage } from "@dlock/server/internal";
import { encodeCommand } from "@dlock/server/lock";
import { freePort } from "@dlock/tools";
import { ELECTION_TIMEOUT_MS, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { sumMetric } from "./support/metrics.js";
import { peerHello, RawConnection } from "./support/raw-connection.js";
import { expectEveryNodeServing } from "./support/serving.js";

/** LocalCluster's default cluster id. */
const CLUSTER_ID = "dlock-local";
/** The core's term ceiling (TERM_MAX of @dlock/raft). */
const TERM_MAX = 2 ** 48;
const REFUSED_METRIC = "dlock_raft_messages_refused_total";

let test: TestCluster;
const connections: RawConnection[] = [];

beforeAll(async () => {
  test = await startTestCluster("forged-raft");
});

afterAll(async () => {
  for (const connection of connections) connection.close();
  await test?.dispose();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Gives forged messages time to act before checking they did nothing: on a node that accepts
 * them the effect (an election, an applied release) follows within a few election timeouts.
 */
const settle = () => sleep(15 * ELECTION_TIMEOUT_MS);

interface View {
  leader: string;
  term: number;
  commit: number;
}

async function view(): Promise<View> {
  const leader = await test.cluster.waitForLeader(30_000);
  const status = await test.cluster.status(leader, 5_000);
  if (status === null) throw new Error(`${leader} did not answer /status`);
  return { leader, term: status.term, commit: status.commitIndex };
}

/** The two nodes that are not `leader`. */
function followers(leader: string): [string, string] {
  const ids = test.cluster.nodes.map((n) => n.id).filter((id) => id !== leader);
  return [ids[0], ids[1]];
}

/**
 * A peer connection to `to` that said, in its hello, that it is `as`. Send on it at once: when
 * `as` runs, its own redial soon replaces (closes) this connection.
 */
async function peerAs(to: string, as: string): Promise<RawConnection> {
  const node = test.cluster.nodes.find((n) => n.id === to)!;
  const connection = await RawConnection.open(node.peerAddress);
  connections.push(connection);
  connection.sendFrame(peerHello(CLUSTER_ID, as));
  expect(await connection.next(), `${to} accepts the hello of ${as}`).toMatchObject({
    kind: "frame",
    body: { type: "hello", role: "peer", nodeId: to },
  });
  return connection;
}

function sendRaft(connection: RawConnection, messages: object[]): void {
  connection.sendFrame({ type: "raft", messages });
}

/**
 * How `to` answers `messages` sent as `as` on a fresh peer connection. The real `as` redials when
 * its own connection is replaced, and its redial in turn replaces (closes) ours; on a loaded
 * machine that can happen before our frame is read, which is no answer to the frame, so such a
 * connection is tried again (a few times at most).
 */
async function refusalOfFirstFrame(
  to: string,
  as: string,
  messages: object[],
): Promise<{ error: { code: string } | null; closed: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const connection = await peerAs(to, as);
    sendRaft(connection, messages);
    const refusal = await connection.refusal();
    const replacedUnread = refusal.closed && refusal.error === null;
    if (!replacedUnread || attempt === 5) return refusal;
  }
}

describe("forged raft messages on the peer port", () => {
  it("a message that names another sender than the connection's member closes the connection", async () => {
    const { leader } = await view();
    const [target, forger] = followers(leader);
    const rejectedBefore = await sumMetric(test.cluster, "dlock_peer_inbound_rejected_total", {
      reason: "MALFORMED_FRAME",
    });
    const term = (await view()).term;
    // The connection said it is `forger`; the message says it comes from the leader.
    const refusal = await refusalOfFirstFrame(target, forger, [
      { type: "heartbeat", from: leader, to: target, term: term + 1, commit: 0, readContext: 0 },
    ]);
    expect(refusal).toMatchObject({
      error: { code: "MALFORMED_FRAME" },
      closed: true,
    });
    const rejectedAfter = await sumMetric(test.cluster, "dlock_peer_inbound_rejected_total", {
      reason: "MALFORMED_FRAME",
    });
    expect(rejectedAfter - rejectedBefore).toBe(1);
    expect(await view()).toMatchObject({ leader, term });
  });

  it("a forged append posing as leader with a release, then timeoutNow, releases nothing", async () => {
    const holder = new Locker({ endpoints: test.cluster.endpoints() });
    try {
      const lock = await holder.lock("forged/release", "holder", { ttl: 60_000 });
      const before = await view();
      const refusedBefore = await sumMetric(test.cluster, REFUSED_METRIC);
      const [target, forger] = followers(before.leader);
      const data = Uint8Array.from(
        encodeCommand({
          type: "release",
          key: lock.key,
          value: "holder",
          token: lock.fencingToken,
        }),
      );
      const forgedTerm = before.term + 5;
      const messages: object[] = [];
      // The follower's log ends at or just after the commit index, in the leader's term.
      for (let prevIndex = before.commit; prevIndex <= before.commit + 2; prevIndex++) {
        messages.push({
          type: "append",
          from: forger,
          to: target,
          term: forgedTerm,
          prevIndex,
          prevTerm: before.term,
          entries: [{ index: prevIndex + 1, term: forgedTerm, kind: "normal", data }],
          commit: prevIndex + 1,
        });
      }
      messages.push({ type: "timeoutNow", from: forger, to: target, term: forgedTerm });
      sendRaft(await peerAs(target, forger), messages);
      await settle();

      const observer = new Locker({ endpoints: test.cluster.endpoints() });
      try {
        expect(await observer.get(lock.key)).toMatchObject({
          held: true,
          fencingToken: lock.fencingToken,
        });
      } finally {
        await observer.close();
      }
      expect(await view()).toMatchObject({ leader: before.leader, term: before.term });
      expect(await sumMetric(test.cluster, REFUSED_METRIC)).toBeGreaterThan(refusedBefore);
      expect(await lock.release()).toEqual({ released: true, lost: false });
    } finally {
      await holder.close();
    }
  });

  it("five forged timeoutNow frames and five forged transfer votes move no leadership", async () => {
    const before = await view();
    const refused = (reason: string) => sumMetric(test.cluster, REFUSED_METRIC, { reason });
    const timeoutNowBefore = await refused("timeoutNowNotFromLeader");
    const transferBefore = await refused("transferNotAnnounced");
    const [target, forger] = followers(before.leader);
    for (let i = 0; i < 5; i++) {
      // Fresh connections each round: the real `forger` redials and replaces an older one.
      const toTarget = await peerAs(target, forger);
      const toLeader = await peerAs(before.leader, forger);
      sendRaft(toTarget, [
        { type: "timeoutNow", from: forger, to: target, term: before.term },
        { type: "timeoutNow", from: forger, to: target, term: before.term + 1 + i },
      ]);
      for (const [connection, to] of [
        [toTarget, target],
        [toLeader, before.leader],
      ] as const) {
        sendRaft(connection, [
          {
            type: "vote",
            from: forger,
            to,
            term: before.term + 1 + i,
            lastIndex: before.commit + 1_000,
            lastTerm: before.term,
            transfer: true,
          },
        ]);
      }
      await sleep(2 * ELECTION_TIMEOUT_MS);
    }
    await settle();
    expect(await view()).toMatchObject({ leader: before.leader, term: before.term });
    // They did reach the Raft cores (and were refused there).
    expect(await refused("timeoutNowNotFromLeader")).toBeGreaterThan(timeoutNowBefore);
    expect(await refused("transferNotAnnounced")).toBeGreaterThan(transferBefore);
  });

  it("a vote with term 2^53 − 1 is persisted nowhere and the cluster keeps serving", async () => {
    const before = await view();
    const ceiling = { reason: "termAboveCeiling" };
    const refusedBefore = await sumMetric(test.cluster, REFUSED_METRIC, ceiling);
    for (const node of test.cluster.nodes) {
      const from = test.cluster.nodes.find((n) => n.id !== node.id && n.id !== before.leader)!.id;
      const vote = {
        type: "vote",
        from,
        to: node.id,
        term: Number.MAX_SAFE_INTEGER,
        lastIndex: Number.MAX_SAFE_INTEGER,
        lastTerm: Number.MAX_SAFE_INTEGER - 1,
        transfer: true,
      };
      sendRaft(await peerAs(node.id, from), [
        vote,
        { ...vote, type: "preVote" },
        { type: "heartbeatResp", from, to: node.id, term: Number.MAX_SAFE_INTEGER, readContext: 0 },
      ]);
    }
    await settle();
    for (const node of test.cluster.nodes) {
      const status = await test.cluster.status(node.id, 5_000);
      expect(status?.term, `${node.id}'s term`).toBe(before.term);
    }
    expect(await sumMetric(test.cluster, REFUSED_METRIC, ceiling)).toBeGreaterThan(refusedBefore);
    await expectEveryNodeServing(test.cluster);
    expect(await view()).toMatchObject({ term: before.term });
  });

  it("fake acks for a learner nobody runs do not get it promoted", async () => {
    const admin = new Locker({ endpoints: test.cluster.endpoints(), clusterId: CLUSTER_ID });
    try {
      const deadPort = await freePort();
      await admin.addMember("n4", `127.0.0.1:${deadPort}`);
      const { leader, term } = await view();
      const leaderNode = test.cluster.nodes.find((n) => n.id === leader)!;
      const connection = await peerAs(leader, "n4");
      // Ack everything up to far beyond the leader's log, and keep answering heartbeats.
      const ack = async () => {
        const status = await test.cluster.status(leader, 5_000);
        const top = (status?.commitIndex ?? 0) + 5;
        const acks: object[] = [];
        for (let index = Math.max(0, top - 20); index <= top; index++) {
          acks.push({
            type: "appendResp",
            from: "n4",
            to: leader,
            term,
            reject: false,
            index,
            hintIndex: 0,
            hintTerm: 0,
          });
        }
        acks.push({ type: "heartbeatResp", from: "n4", to: leader, term, readContext: 0 });
        sendRaft(connection, acks);
      };
      const keepAcking = setInterval(() => void ack().catch(() => undefined), 50);
      try {
        await ack();
        await sleep(5 * ELECTION_TIMEOUT_MS);
        const promoted = await admin.promoteMember("n4").catch((error: unknown) => error);
        expect(promoted, `promote through ${leaderNode.clientAddress}`).toBeInstanceOf(
          ConfigChangeRefusedError,
        );
        expect((promoted as ConfigChangeRefusedError).message).toMatch(/n4 is not connected/);
      } finally {
        clearInterval(keepAcking);
      }
      const members = await admin.members();
      expect(members.members.find((m) => m.id === "n4")).toMatchObject({ kind: "learner" });
      await admin.removeMember("n4");
    } finally {
      await admin.close();
    }
    await expectEveryNodeServing(test.cluster);
  });

  it("a node whose data folder holds a term above the ceiling rejoins and the cluster serves", async () => {
    const { leader } = await view();
    const patched = test.cluster.nodes.find((n) => n.id !== leader)!;
    await test.cluster.stop(5_000);
    // What an older version persisted after accepting the vote of the previous test.
    const storage = await LevelStorage.open({
      dataDir: patched.dataDir,
      clusterId: CLUSTER_ID,
      nodeId: patched.id,
      initialMembers: { voters: [], learners: [], peerAddresses: {} },
    });
    try {
      const { commit } = storage.initialState().hardState;
      await storage.write([
        { hardState: { term: Number.MAX_SAFE_INTEGER, vote: null, commit }, mustSync: true },
      ]);
    } finally {
      await storage.close();
    }
    // startAgain waits for a leader every node agrees on, the patched one included.
    await test.startAgain();
    await expectEveryNodeServing(test.cluster);
    const after = await view();
    expect(after.term).toBeLessThanOrEqual(TERM_MAX);
    const status = await test.cluster.status(patched.id, 5_000);
    expect(status).toMatchObject({ term: after.term, leader: after.leader });
  });
});
