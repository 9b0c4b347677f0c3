import { describe, expect, it } from "vitest";
import { applyConfChange, MemoryStorage, RawNode } from "../src/index.js";
import type { AppendRequest, Entry, Message, RaftError } from "../src/index.js";
import { Membership } from "../src/membership.js";
import { bytes, Network, seededRandom } from "./helpers/network.js";

const EMPTY = { voters: [], learners: [] };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as RaftError).code;
  }
  return undefined;
}

describe("membership changes", () => {
  it("applyConfChange sets a member's state absolutely", () => {
    const conf = { voters: ["a", "b"], learners: [] };
    const withLearner = applyConfChange(conf, { type: "addLearner", nodeId: "c" });
    expect(withLearner).toEqual({ voters: ["a", "b"], learners: ["c"] });
    const promoted = applyConfChange(withLearner, { type: "promote", nodeId: "c" });
    expect(promoted).toEqual({ voters: ["a", "b", "c"], learners: [] });
    expect(applyConfChange(promoted, { type: "remove", nodeId: "a" })).toEqual({
      voters: ["b", "c"],
      learners: [],
    });
  });

  it("a learner receives the log but never counts toward commit", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.add("n4", EMPTY);
    net.get("n1").node.proposeConfChange({ type: "addLearner", nodeId: "n4" });
    net.stabilize();
    net.tickAll(3);
    const n1 = net.get("n1").node;
    expect(n1.status().confState).toEqual({ voters: ["n1", "n2", "n3"], learners: ["n4"] });
    expect(n1.status().progress!.n4.learner).toBe(true);
    expect(net.get("n4").node.status().confState.learners).toEqual(["n4"]);
    net.propose("n1", "a");
    expect(net.appliedData("n4")).toEqual(["a"]);
    // With two voters down, the learner's copy does not make a majority.
    net.isolate("n2");
    net.isolate("n3");
    const { index } = n1.propose(new Uint8Array(1));
    net.stabilize();
    expect(net.get("n4").node.status().lastIndex).toBe(index);
    expect(n1.status().commit).toBe(index - 1);
    // A learner never campaigns.
    const learner = net.get("n4").node;
    for (let i = 0; i < 50; i++) learner.tick();
    expect(learner.status().role).toBe("follower");
  });

  it("allows one change at a time and rejects changes that make no sense", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const n1 = net.get("n1").node;
    expect(codeOf(() => n1.proposeConfChange({ type: "promote", nodeId: "n2" }))).toBe(
      "INVALID_CONF_CHANGE",
    );
    expect(codeOf(() => n1.proposeConfChange({ type: "addLearner", nodeId: "n2" }))).toBe(
      "INVALID_CONF_CHANGE",
    );
    expect(codeOf(() => n1.proposeConfChange({ type: "remove", nodeId: "n9" }))).toBe(
      "INVALID_CONF_CHANGE",
    );
    n1.proposeConfChange({ type: "addLearner", nodeId: "n4" });
    expect(codeOf(() => n1.proposeConfChange({ type: "remove", nodeId: "n3" }))).toBe(
      "CONF_CHANGE_IN_PROGRESS",
    );
  });

  it("a leader that removes itself steps down after the change commits", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const n1 = net.get("n1").node;
    const { index } = n1.proposeConfChange({ type: "remove", nodeId: "n1" });
    // It still leads while the change is uncommitted.
    expect(n1.status().role).toBe("leader");
    net.stabilize();
    expect(n1.status().commit).toBeGreaterThanOrEqual(index);
    expect(n1.status().role).toBe("follower");
    net.tickAll(30);
    const leader = net.leader();
    expect(leader === "n2" || leader === "n3").toBe(true);
    expect(net.get(leader!).node.status().confState.voters.sort()).toEqual(["n2", "n3"]);
    // The removed node never campaigns again.
    expect(n1.status().role).toBe("follower");
  });

  it("a leader that removed itself and lost leadership before the removal committed can finish it", () => {
    // Two voters; s1 removes itself but is cut off before s2 sees the change. s2 (still on
    // {s1, s2}) needs s1's vote, which s1 refuses (its log is longer): only s1 can move on.
    const net = new Network(["s1", "s2"]);
    net.elect("s1");
    net.isolate("s1");
    net.get("s1").node.proposeConfChange({ type: "remove", nodeId: "s1" });
    net.tickAll(25);
    expect(net.get("s1").node.status().role).toBe("follower");
    expect(net.get("s2").node.status().role).not.toBe("leader");
    net.heal();
    net.tickAll(80);
    expect(net.leader()).toBe("s2");
    expect(net.get("s2").node.status().confState).toEqual({ voters: ["s2"], learners: [] });
    expect(net.get("s1").node.status().role).toBe("follower");
    net.propose("s2", "after");
    expect(net.appliedData("s2").at(-1)).toBe("after");
  });

  it("a leader keeps a voter it removed quiet with heartbeats until the removal commits", () => {
    // Without pre-vote or check-quorum nothing stops a removed voter's elections but our
    // heartbeats: one left unheard would depose every leader while its removal is uncommitted.
    const net = new Network(["n1", "n2", "n3", "n4", "n5"], {
      config: { preVote: false, checkQuorum: false },
    });
    net.elect("n1");
    const n1 = net.get("n1").node;
    const n5 = net.get("n5").node;
    const term = n1.status().term;
    // n3 and n4 hear nothing and stand still (their clocks too, so they do not campaign): the
    // removal reaches n2 and n5, not a quorum of {n1, n2, n3, n4}.
    const reachable = (m: Message): boolean => !["n3", "n4"].includes(m.to);
    const { index } = n1.proposeConfChange({ type: "remove", nodeId: "n5" });
    net.stabilize(reachable);
    expect(n5.status().confState.voters).not.toContain("n5");
    let n5Campaigned = false;
    for (let i = 0; i < 60; i++) {
      for (const id of ["n1", "n2", "n5"]) net.tick(id);
      net.stabilize(reachable);
      if (n5.status().role !== "follower") n5Campaigned = true;
    }
    expect(n1.status().commit).toBeLessThan(index);
    expect(n5Campaigned).toBe(false);
    expect(n1.status()).toMatchObject({ role: "leader", term });
    net.tickAll(3);
    expect(n1.status().commit).toBeGreaterThanOrEqual(index);
    // n5 heard that its removal committed: it no longer campaigns, and the leader lets it go.
    expect(n5.status().commit).toBeGreaterThanOrEqual(index);
    expect(Object.keys(n1.status().progress ?? {})).not.toContain("n5");
    net.tickAll(60);
    expect(n5.status().role).toBe("follower");
    expect(n1.status()).toMatchObject({ role: "leader", term });
  });

  /** Five voters; n1 leads and removes n5 while n3 and n4 hear nothing (so it cannot commit). */
  function removalAwaitingCommit() {
    const net = new Network(["n1", "n2", "n3", "n4", "n5"], {
      config: { preVote: false, checkQuorum: false },
    });
    net.elect("n1");
    const reachable = (m: Message): boolean => !["n3", "n4"].includes(m.to);
    const { index } = net.get("n1").node.proposeConfChange({ type: "remove", nodeId: "n5" });
    net.stabilize(reachable);
    return { net, index, n1: net.get("n1").node, n5: net.get("n5").node };
  }

  /** Ticks every node `ticks` times; returns whether n5 ever left the follower role. */
  function n5CampaignsWithin(net: Network, ticks: number): boolean {
    let campaigned = false;
    for (let i = 0; i < ticks; i++) {
      net.tickAll(1);
      if (net.get("n5").node.status().role !== "follower") campaigned = true;
    }
    return campaigned;
  }

  it("a removed voter that missed the round carrying the commit is told again until it confirms", () => {
    const { net, index, n1, n5 } = removalAwaitingCommit();
    const term = n1.status().term;
    // n3 and n4 come back; in the round that commits the removal, everything to n5 is lost.
    for (const t of net.nodes.values()) t.node.tick();
    net.stabilize((m) => m.to !== "n5");
    expect(n1.status().commit).toBeGreaterThanOrEqual(index);
    expect(n5.status().commit).toBeLessThan(index);
    // Without the leader's further heartbeats n5 never learns, and campaigns for ever.
    expect(n5CampaignsWithin(net, 60)).toBe(false);
    expect(n5.status().commit).toBeGreaterThanOrEqual(index);
    expect(Object.keys(n1.status().progress ?? {})).not.toContain("n5");
    expect(n1.status()).toMatchObject({ role: "leader", term });
  });

  it("a leader stops heartbeating a removed voter that never confirms, after ten election timeouts", () => {
    const { net, index, n1 } = removalAwaitingCommit();
    net.isolate("n5");
    for (let i = 0; i < 10 && n1.status().commit < index; i++) net.tickAll(1);
    expect(n1.status().commit).toBeGreaterThanOrEqual(index);
    expect(Object.keys(n1.status().progress ?? {})).toContain("n5");
    let sentToN5 = 0;
    const countToN5 = (m: Message): Message => {
      if (m.to === "n5") sentToN5++;
      return m;
    };
    // electionTicks is 10 in these tests: 100 ticks after the commit.
    net.tickAll(99, undefined, countToN5);
    expect(sentToN5).toBeGreaterThan(0);
    expect(Object.keys(n1.status().progress ?? {})).toContain("n5");
    net.tickAll(1);
    expect(Object.keys(n1.status().progress ?? {})).not.toContain("n5");
    sentToN5 = 0;
    net.tickAll(20, undefined, countToN5);
    expect(sentToN5).toBe(0);
  });

  /** Five voters (server defaults); n1 commits the removal of n5 with n2..n4; n5 hears nothing. */
  function removalN5Missed() {
    const net = new Network(["n1", "n2", "n3", "n4", "n5"]);
    net.elect("n1");
    net.isolate("n5");
    const { index } = net.get("n1").node.proposeConfChange({ type: "remove", nodeId: "n5" });
    net.tickAll(2);
    return { net, index, n5: net.get("n5").node };
  }

  /**
   * n1 dies (isolated) and n5 is back: n2..n4 elect a leader among themselves (they refuse n5:
   * not a member), which must tell n5 — without it n5 campaigns every election timeout for ever.
   * Checks that n5 learnt, stopped campaigning and moved no term, and the leader let it go.
   */
  function expectNextLeaderTellsN5(net: Network, index: number) {
    net.heal();
    net.isolate("n1");
    const survivors = ["n2", "n3", "n4"];
    let leader: string | null = null;
    for (let i = 0; i < 200 && leader === null; i++) {
      net.tickAll(1);
      leader = survivors.find((id) => net.get(id).node.status().role === "leader") ?? null;
    }
    expect(leader).not.toBeNull();
    const newLeader = net.get(leader!).node;
    const n5 = net.get("n5").node;
    const term = newLeader.status().term;
    net.tickAll(100);
    expect(n5.status().commit).toBeGreaterThanOrEqual(index);
    expect(n5.status().confState.voters).not.toContain("n5");
    expect(n5CampaignsWithin(net, 100)).toBe(false);
    expect(newLeader.status()).toMatchObject({ role: "leader", term });
    expect(n5.status().term).toBe(term);
    expect(Object.keys(newLeader.status().progress ?? {})).not.toContain("n5");
    return { leader: leader!, newLeader, term };
  }

  it("a removed voter whose leader died before telling it is told by the next leader", () => {
    const { net, index, n5 } = removalN5Missed();
    for (const id of ["n2", "n3", "n4"]) {
      expect(net.get(id).node.status().commit).toBeGreaterThanOrEqual(index);
    }
    expect(n5.status().lastIndex).toBeLessThan(index);
    const { leader, newLeader, term } = expectNextLeaderTellsN5(net, index);
    // A late answer of n5's is no sign that it does not know: it does not start tracking again.
    newLeader.step({ type: "heartbeatResp", from: "n5", to: leader, term, readContext: 0 });
    expect(Object.keys(newLeader.status().progress ?? {})).not.toContain("n5");
  });

  it("a removed voter that cannot be reached is logged once, not every ten election timeouts", () => {
    const lines: Array<{ level: string; message: string }> = [];
    const capture = (level: string) => (_fields: object, message: string) =>
      lines.push({ level, message });
    const logger = { debug: capture("debug"), info: capture("info"), warn: capture("warn") };
    const net = new Network(["n1", "n2", "n3", "n4", "n5"], { config: { logger } });
    net.elect("n1");
    const n1 = net.get("n1").node;
    const term = n1.status().term;
    const { index } = n1.proposeConfChange({ type: "remove", nodeId: "n5" });
    net.stabilize();
    expect(n1.status().commit).toBeGreaterThanOrEqual(index);
    // n5 hears nothing more: it campaigns, n1 hears it and gives up on it, three times over.
    net.isolate("n5");
    for (let round = 0; round < 3; round++) {
      net.tickAll(101);
      n1.step({
        type: "preVote",
        from: "n5",
        to: "n1",
        term: term + 1,
        lastIndex: 1,
        lastTerm: 1,
        transfer: false,
      });
      expect(Object.keys(n1.status().progress ?? {})).toContain("n5");
    }
    net.tickAll(101);
    const count = (level: string, text: string): number =>
      lines.filter((l) => l.level === level && l.message.includes(text)).length;
    expect(count("info", "stopped heartbeating a removed voter")).toBe(1);
    expect(count("debug", "stopped heartbeating a removed voter")).toBe(3);
    expect(count("info", "telling a removed voter")).toBe(0);
    expect(count("debug", "telling a removed voter")).toBe(3);
    expect(n1.status()).toMatchObject({ role: "leader", term });
  });

  it("takes a compacted removal from the host's record unless the id is a member", () => {
    const membership = new Membership({ voters: ["a", "b"], learners: ["l"] });
    membership.rememberCompactedRemoval("c", 4);
    membership.rememberCompactedRemoval("l", 3);
    membership.rememberCompactedRemoval("a", 2);
    expect(membership.removalIndexOf("c")).toBe(4);
    expect(membership.removalIndexOf("l")).toBe(0);
    expect(membership.removalIndexOf("a")).toBe(0);
    // A change still in the log is found there first.
    membership.append(9, { type: "addLearner", nodeId: "c" });
    membership.append(10, { type: "promote", nodeId: "c" });
    membership.append(11, { type: "remove", nodeId: "c" });
    expect(membership.removalIndexOf("c")).toBe(11);
  });

  it("remembers which change removed a voter, also once that change is compacted", () => {
    const membership = new Membership({ voters: ["a", "b", "c"], learners: ["l"] });
    membership.append(5, { type: "remove", nodeId: "c" });
    membership.append(6, { type: "remove", nodeId: "l" });
    membership.append(7, { type: "addLearner", nodeId: "d" });
    expect(membership.removalIndexOf("c")).toBe(5);
    // A learner never campaigns; members and strangers were not removed.
    for (const id of ["l", "a", "d", "x"]) expect(membership.removalIndexOf(id)).toBe(0);
    membership.compact(7);
    expect(membership.removalIndexOf("c")).toBe(5);
    expect(membership.removalIndexOf("l")).toBe(0);
    // Added back: a member again, so not a removed voter, until removed anew.
    membership.append(8, { type: "addLearner", nodeId: "c" });
    expect(membership.removalIndexOf("c")).toBe(0);
    membership.truncateFrom(8);
    expect(membership.removalIndexOf("c")).toBe(5);
    membership.append(8, { type: "addLearner", nodeId: "c" });
    membership.compact(8);
    expect(membership.removalIndexOf("c")).toBe(0);
  });

  it("a removed voter is told by members that restarted after compacting its removal, from the host's record", () => {
    // As above, but n2..n4 compact the removal into a snapshot and restart before n5 comes back:
    // their cores remember nothing of it. The host keeps removed voters with its members record
    // and hands them over at start (rememberRemovedVoters).
    const { net, index } = removalN5Missed();
    net.isolate("n1");
    for (const id of ["n2", "n3", "n4"]) {
      const { node, storage } = net.get(id);
      const applied = node.status().applied;
      expect(applied).toBeGreaterThanOrEqual(index);
      storage.createSnapshot(applied, node.status().confState, bytes("state"));
      storage.compact(applied);
      node.compacted(applied);
      const restarted = net.start(id, storage, {}, applied).node;
      // A core that restarted alone does not know n5 was ever a voter.
      expect(restarted.status().confState.voters).not.toContain("n5");
      restarted.rememberRemovedVoters([{ id: "n5", index }]);
      // Members are ignored: the record may name an id added back since.
      restarted.rememberRemovedVoters([{ id: "n2", index: 1 }]);
    }
    expectNextLeaderTellsN5(net, index);
    // n5 got the leader's snapshot: its removal is compacted everywhere else.
    expect(net.get("n5").installedSnapshots.length).toBeGreaterThan(0);
  });

  it("a leader does not track a node that never was a voter when it asks for votes", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const n1 = net.get("n1").node;
    const term = n1.status().term;
    for (const type of ["preVote", "vote"] as const) {
      n1.step({
        type,
        from: "x9",
        to: "n1",
        term: term + 1,
        lastIndex: 99,
        lastTerm: term,
        transfer: false,
      });
    }
    net.stabilize();
    expect(Object.keys(n1.status().progress ?? {})).not.toContain("x9");
    expect(n1.status()).toMatchObject({ role: "leader", term });
  });

  it.each([
    ["with its log", false],
    ["on a wiped data folder", true],
  ])(
    "a removed voter added back as a learner %s is a member again, not a departure",
    (_, wiped) => {
      const { net, index, n1 } = removalAwaitingCommit();
      net.isolate("n5");
      net.tickAll(3);
      expect(n1.status().commit).toBeGreaterThanOrEqual(index);
      expect(Object.keys(n1.status().progress ?? {})).toContain("n5");
      n1.proposeConfChange({ type: "addLearner", nodeId: "n5" });
      net.tickAll(3);
      // What the leader knew of the departed node's log must not be kept for the new one.
      if (wiped) net.add("n5", EMPTY, { preVote: false, checkQuorum: false });
      net.heal();
      net.tickAll(120);
      expect(n1.status().progress?.n5?.learner).toBe(true);
      net.propose("n1", "back");
      expect(net.appliedData("n5").at(-1)).toBe("back");
    },
  );

  it("a config takes effect on append and rolls back if that entry is overwritten", () => {
    const storage = new MemoryStorage({ voters: ["l", "f", "x"], learners: [] });
    const f = new RawNode({ id: "f", random: seededRandom(2) }, storage);
    const append = (from: string, term: number, entry: Entry): AppendRequest => ({
      type: "append",
      from,
      to: "f",
      term,
      prevIndex: 0,
      prevTerm: 0,
      entries: [entry],
      commit: 0,
    });
    f.step(
      append("l", 1, {
        index: 1,
        term: 1,
        kind: "config",
        data: new Uint8Array(0),
        change: { type: "addLearner", nodeId: "n9" },
      }),
    );
    // Not committed, yet already in effect.
    expect(f.status().commit).toBe(0);
    expect(f.status().confState.learners).toEqual(["n9"]);
    // Once l's lease has run out (a newer leader is refused while l is live), a leader of a later
    // term overwrites index 1 with a normal entry: the change is undone.
    for (let i = 0; i < 10; i++) f.tick();
    f.step(append("x", 2, { index: 1, term: 2, kind: "normal", data: new Uint8Array(1) }));
    expect(f.status().confState).toEqual({ voters: ["l", "f", "x"], learners: [] });
  });

  it("re-derives membership on restart from the log after the snapshot", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.add("n4", EMPTY);
    net.get("n1").node.proposeConfChange({ type: "addLearner", nodeId: "n4" });
    net.stabilize();
    const storage = net.get("n2").storage;
    expect(storage.initialState().confState.learners).toEqual([]);
    const restarted = new RawNode({ id: "n2", random: seededRandom(5) }, storage);
    expect(restarted.status().confState).toEqual({ voters: ["n1", "n2", "n3"], learners: ["n4"] });
  });
});
