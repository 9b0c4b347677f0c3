// Raft input as a protocol boundary: what a faulty or hostile member can no longer do with one
// message (README "Input hardening"). Each case drives real RawNodes in virtual time.
import { describe, expect, it } from "vitest";
import { MemoryStorage, TERM_MAX } from "../src/index.js";
import type { AppendRequest, Message, RawNode, RefusalReason, VoteRequest } from "../src/index.js";
import { bytes, Network } from "./helpers/network.js";

/** A three-node network with n1 elected and every refusal recorded as "node:type:reason". */
function cluster(termAheadMax?: number): { net: Network; refused: string[] } {
  const refused: string[] = [];
  const ids = ["n1", "n2", "n3"];
  const net = new Network([]);
  for (const id of ids) {
    net.add(
      id,
      { voters: ids, learners: [] },
      {
        ...(termAheadMax === undefined ? {} : { termAheadMax }),
        onRefused: (m: Message, reason: RefusalReason) => refused.push(`${id}:${m.type}:${reason}`),
      },
    );
  }
  net.elect("n1");
  return { net, refused };
}

function forgedAppend(from: string, to: string, term: number, node: RawNode): AppendRequest {
  const status = node.status();
  return {
    type: "append",
    from,
    to,
    term,
    prevIndex: status.lastIndex,
    prevTerm: status.term,
    entries: [{ index: status.lastIndex + 1, term, kind: "normal", data: bytes("release") }],
    commit: status.lastIndex + 1,
  };
}

describe("raft input guard", () => {
  it("refuses a forged append posing as a leader, of the same or a newer term, while a leader is live", () => {
    const { net, refused } = cluster();
    net.propose("n1", "acquire");
    const n2 = net.get("n2").node;
    const before = n2.status();
    n2.step(forgedAppend("n3", "n2", before.term, n2));
    n2.step(forgedAppend("n3", "n2", before.term + 5, n2));
    // n1 itself ignores another node's claim to lead (its term or a newer one).
    const n1 = net.get("n1").node;
    n1.step(forgedAppend("n3", "n1", before.term + 5, n1));
    expect(refused).toEqual([
      "n2:append:notTheLeader",
      "n2:append:notTheLeader",
      "n1:append:notTheLeader",
    ]);
    expect(n2.status()).toMatchObject({
      term: before.term,
      leader: "n1",
      lastIndex: before.lastIndex,
    });
    expect(n1.status()).toMatchObject({ role: "leader", term: before.term });
    // …and the forged timeoutNow that followed it in the attack starts no election.
    n2.step({ type: "timeoutNow", from: "n3", to: "n2", term: before.term + 5 });
    n2.step({ type: "timeoutNow", from: "n3", to: "n2", term: before.term });
    expect(refused.slice(3)).toEqual([
      "n2:timeoutNow:timeoutNowNotFromLeader",
      "n2:timeoutNow:timeoutNowNotFromLeader",
    ]);
    net.tickAll(3);
    expect(net.leader()).toBe("n1");
    expect(net.get("n1").node.status().term).toBe(before.term);
    expect(net.appliedData("n2")).toEqual(["acquire"]);
  });

  it("a new leader of a later term reaches a follower once the old leader's lease has run out", () => {
    const { net, refused } = cluster();
    const n3 = net.get("n3").node;
    const term = n3.status().term;
    net.isolate("n1");
    // n2 and n3 stop hearing n1, elect n2; the guard must not keep them from it.
    net.tickAll(40);
    expect(net.leaders().find((l) => l.id !== "n1")).toBeDefined();
    const leader = net.leaders().find((l) => l.id !== "n1")!;
    expect(leader.term).toBeGreaterThan(term);
    net.heal();
    net.tickAll(20);
    expect(net.leaders()).toEqual([leader]);
    expect(net.get("n1").node.status()).toMatchObject({ term: leader.term, leader: leader.id });
    expect(refused.filter((r) => !r.includes("notTheLeader"))).toEqual([]);
  });

  it("timeoutNow moves leadership only when it comes from the leader, in its term", () => {
    const { net, refused } = cluster();
    const term = net.get("n1").node.status().term;
    for (let i = 0; i < 5; i++) {
      net.get("n2").node.step({ type: "timeoutNow", from: "n3", to: "n2", term });
      net.get("n2").node.step({ type: "timeoutNow", from: "n1", to: "n2", term: term + 1 });
      net.stabilize();
    }
    expect(refused).toHaveLength(10);
    expect(net.leader()).toBe("n1");
    expect(net.get("n2").node.status().term).toBe(term);
    // The real thing still works.
    net.get("n1").node.transferLeadership("n2");
    net.stabilize();
    expect(net.leader()).toBe("n2");
    expect(net.get("n2").node.status().term).toBe(term + 1);
  });

  it("a vote request flagged as a transfer forces no election unless the leader announced it", () => {
    const { net, refused } = cluster();
    const term = net.get("n1").node.status().term;
    for (let i = 0; i < 5; i++) {
      for (const to of ["n1", "n2"]) {
        const lastIndex = net.get(to).node.status().lastIndex;
        net.get(to).node.step({
          type: "vote",
          from: "n3",
          to,
          term: term + 1 + i,
          lastIndex: lastIndex + 10,
          lastTerm: term,
          transfer: true,
        });
      }
      net.tickAll(1);
    }
    expect(refused.filter((r) => r.endsWith("transferNotAnnounced"))).toHaveLength(10);
    expect(net.leader()).toBe("n1");
    expect(net.get("n1").node.status().term).toBe(term);
    // A real transfer to n3 is announced first, and n3 wins it.
    net.get("n1").node.transferLeadership("n3");
    net.stabilize();
    expect(net.leader()).toBe("n3");
  });

  it("never accepts a term above TERM_MAX, nor one more than termAheadMax ahead of ours from a non-leader", () => {
    const { net, refused } = cluster(1000);
    const n2 = net.get("n2").node;
    for (let i = 0; i < 10; i++) n2.tick(); // out of n1's lease: n2 would vote
    while (n2.hasReady()) n2.advance(n2.ready());
    const before = n2.status();
    const vote = (term: number): VoteRequest => ({
      type: "vote",
      from: "n3",
      to: "n2",
      term,
      lastIndex: before.lastIndex + 10,
      lastTerm: before.term,
      transfer: false,
    });
    n2.step(vote(Number.MAX_SAFE_INTEGER));
    n2.step(vote(TERM_MAX + 1));
    n2.step(vote(before.term + 1001));
    n2.step({ ...vote(before.term + 1001), type: "preVote" });
    n2.step({ type: "heartbeatResp", from: "n3", to: "n2", term: TERM_MAX + 1, readContext: 0 });
    expect(refused).toEqual([
      "n2:vote:termAboveCeiling",
      "n2:vote:termAboveCeiling",
      "n2:vote:termTooFarAhead",
      "n2:preVote:termTooFarAhead",
      "n2:heartbeatResp:termAboveCeiling",
    ]);
    expect(n2.status().term).toBe(before.term);
    expect(n2.hasReady()).toBe(false);
    // Within the margin it is an ordinary vote.
    n2.step(vote(before.term + 1000));
    expect(n2.status()).toMatchObject({ term: before.term + 1000, vote: "n3" });
  });

  it("one member cannot move a leaderless node's term beyond termAheadMax; a majority of the others can", () => {
    const { net, refused } = cluster(3);
    const n2 = net.get("n2").node;
    for (let i = 0; i < 10; i++) n2.tick(); // out of n1's lease: no live leader
    while (n2.hasReady()) n2.advance(n2.ready());
    const term = n2.status().term;
    const heartbeat: Message = {
      type: "heartbeat",
      from: "n3",
      to: "n2",
      term: term + 10,
      commit: 0,
      readContext: 0,
    };
    n2.step(heartbeat);
    n2.step(heartbeat);
    expect(n2.status().term).toBe(term);
    expect(refused).toEqual(["n2:heartbeat:termTooFarAhead", "n2:heartbeat:termTooFarAhead"]);
    // n1 too shows a term that far ahead (here, rejecting a pre-vote): a majority of the others
    // is in it, so n2 takes it (from any message, not only a leader's) and then believes n3.
    n2.step({ type: "preVoteResp", from: "n1", to: "n2", term: term + 10, granted: false });
    expect(refused).toHaveLength(2);
    expect(n2.status()).toMatchObject({ term: term + 10, leader: null });
    n2.step(heartbeat);
    expect(refused).toHaveLength(2);
    expect(n2.status()).toMatchObject({ term: term + 10, leader: "n3" });
  });

  it("takes only the term a majority of the others is in, not one member's higher claim", () => {
    const { net, refused } = cluster(3);
    const n2 = net.get("n2").node;
    for (let i = 0; i < 10; i++) n2.tick(); // out of n1's lease: no live leader
    while (n2.hasReady()) n2.advance(n2.ready());
    const term = n2.status().term;
    const claim: Message = {
      type: "heartbeat",
      from: "n3",
      to: "n2",
      term: term + 1000,
      commit: 0,
      readContext: 0,
    };
    n2.step(claim);
    n2.step({ type: "preVoteResp", from: "n1", to: "n2", term: term + 10, granted: false });
    expect(n2.status()).toMatchObject({ term: term + 10, leader: null });
    n2.step(claim);
    expect(refused).toEqual(["n2:heartbeat:termTooFarAhead", "n2:heartbeat:termTooFarAhead"]);
    expect(n2.status()).toMatchObject({ term: term + 10, leader: null });
  });

  it("a node partitioned through more than termAheadMax elections catches up from the leader", () => {
    const { net } = cluster(3);
    net.isolate("n3");
    for (let i = 0; i < 6; i++) {
      const leader = net.leader()!;
      net.get(leader).node.transferLeadership(leader === "n1" ? "n2" : "n1");
      net.stabilize();
    }
    const leader = net.leader()!;
    const term = net.get(leader).node.status().term;
    expect(term - net.get("n3").node.status().term).toBeGreaterThan(3);
    net.propose(leader, "after");
    net.heal();
    net.tickAll(30);
    expect(net.get("n3").node.status()).toMatchObject({ term, leader });
    expect(net.appliedData("n3")).toEqual(["after"]);
  });

  it("refuses responses from non-members and acks of entries never sent", () => {
    const refused: string[] = [];
    const net = new Network(["n1", "n2", "n3"], {
      config: { onRefused: (m, reason) => refused.push(`${m.type}:${reason}`) },
    });
    net.elect("n1");
    const n1 = net.get("n1").node;
    const term = n1.status().term;
    // A node outside the configuration cannot unseat the leader with a newer term.
    n1.step({ type: "heartbeatResp", from: "n9", to: "n1", term: term + 1, readContext: 0 });
    n1.step({
      type: "appendResp",
      from: "n9",
      to: "n1",
      term: term + 1,
      reject: false,
      index: 0,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(n1.status()).toMatchObject({ role: "leader", term });
    expect(refused).toEqual(["heartbeatResp:notMember", "appendResp:notMember"]);
    // A learner nobody can reach: the leader probes it once and sends it nothing more.
    n1.proposeConfChange({ type: "addLearner", nodeId: "n4" });
    net.stabilize();
    const probeIndex = n1.status().lastIndex;
    for (let i = 0; i < 5; i++) n1.propose(bytes(`entry ${i}`));
    net.stabilize();
    const last = n1.status().lastIndex;
    const ack = (index: number): Message => ({
      type: "appendResp",
      from: "n4",
      to: "n1",
      term,
      reject: false,
      index,
      hintIndex: 0,
      hintTerm: 0,
    });
    n1.step(ack(last));
    expect(refused.at(-1)).toBe("appendResp:ackNotSent");
    expect(n1.status().progress!.n4.match).toBeLessThan(last);
    // An ack of what was sent (the probe) is an ordinary ack.
    n1.step(ack(probeIndex));
    expect(n1.status().progress!.n4.match).toBe(probeIndex);
  });

  it("a fake ack of entries never sent does not advance the commit index", () => {
    const refused: string[] = [];
    const ids = ["n1", "n2", "n3"];
    const net = new Network(ids, {
      config: { onRefused: (m, reason) => refused.push(`${m.type}:${reason}`) },
    });
    // n1 campaigns while cut off from n3: n3's progress stays a paused probe.
    net.partition("n1", "n3");
    net.elect("n1");
    net.isolate("n2");
    const n1 = net.get("n1").node;
    const commit = n1.status().commit;
    const { index } = n1.propose(bytes("x"));
    net.stabilize();
    n1.step({
      type: "appendResp",
      from: "n3",
      to: "n1",
      term: n1.status().term,
      reject: false,
      index,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(refused).toEqual(["appendResp:ackNotSent"]);
    expect(n1.status().commit).toBe(commit);
  });

  it("a node whose persisted term is above the ceiling waits in quarantine and rejoins from the leader", () => {
    const ids = ["n1", "n2", "n3"];
    const net = new Network(ids);
    net.elect("n1");
    net.propose("n1", "a");
    // n3 restarts on a hard state an older version let a forged vote push to 2^53 − 1.
    const old = net.get("n3").storage;
    const storage = new MemoryStorage({ voters: ids, learners: [] });
    storage.append(old.entries(old.firstIndex(), old.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
    storage.setHardState({ term: Number.MAX_SAFE_INTEGER, vote: null, commit: 0 });
    const n3 = net.start("n3", storage).node;
    expect(n3.status().term).toBe(Number.MAX_SAFE_INTEGER);
    // It neither campaigns nor answers anything but a leader, and the others elect without it.
    net.isolate("n1");
    net.tickAll(60);
    expect(n3.status().role).toBe("follower");
    expect(net.get("n3").storage.initialState().hardState.term).toBe(Number.MAX_SAFE_INTEGER);
    const leader = net.leaders().find((l) => l.id === "n2");
    expect(leader).toBeUndefined();
    // n2 alone cannot win (n1 cut off, n3 quarantined): only a leader frees n3.
    net.heal();
    net.tickAll(40);
    const elected = net.leaders();
    expect(elected).toHaveLength(1);
    expect(elected[0].term).toBeLessThanOrEqual(TERM_MAX);
    expect(n3.status()).toMatchObject({ term: elected[0].term, leader: elected[0].id });
    const hard = net.get("n3").storage.initialState().hardState;
    expect(hard.term).toBe(elected[0].term);
    net.propose(elected[0].id, "b");
    expect(net.appliedData("n3").at(-1)).toBe("b");
    // From now on n3 is an ordinary voter: the cluster survives losing the leader.
    net.isolate(elected[0].id);
    net.tickAll(60);
    expect(net.leaders().filter((l) => l.id !== elected[0].id)).toHaveLength(1);
  });
});
