import { describe, expect, it } from "vitest";
import { MemoryStorage, RawNode } from "../src/index.js";
import type { Message, VoteRequest } from "../src/index.js";
import { Network, seededRandom } from "./helpers/network.js";

describe("leader election", () => {
  it("a node elects itself after its randomized election timeout and appends a no-op", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.tickAll(25);
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    const leader = net.get(leaders[0].id);
    // The no-op of the new term is committed and applied everywhere.
    for (const t of net.nodes.values()) {
      expect(t.applied.map((e) => e.kind)).toEqual(["noop"]);
      expect(t.node.status().commit).toBe(1);
      expect(t.node.status().leader).toBe(leader.id);
    }
  });

  it("draws the election timeout from [electionTicks, 2*electionTicks) with config.random only", () => {
    for (const r of [0, 0.5, 0.999999]) {
      const storage = new MemoryStorage({ voters: ["a", "b", "c"], learners: [] });
      const node = new RawNode({ id: "a", random: () => r, electionTicks: 10 }, storage);
      let ticks = 0;
      while (node.status().role === "follower" && ticks < 100) {
        node.tick();
        ticks++;
      }
      expect(node.status().role).toBe("preCandidate");
      expect(ticks).toBe(10 + Math.floor(r * 10));
    }
  });

  it("a single-voter cluster elects itself and commits once its own write is durable", () => {
    const net = new Network(["solo"]);
    net.tickAll(20);
    expect(net.leader()).toBe("solo");
    const index = net.propose("solo", "x");
    expect(net.get("solo").node.status().commit).toBe(index);
    expect(net.appliedData("solo")).toEqual(["x"]);
  });

  it("pre-vote does not increase the term; a rejected pre-candidate leaves no trace", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const term = net.get("n1").node.status().term;
    net.isolate("n3");
    net.tickAll(60);
    // n3 keeps pre-campaigning without success and never bumps its term.
    expect(net.get("n3").node.status().term).toBe(term);
    net.heal();
    net.tickAll(5);
    expect(net.leader()).toBe("n1");
    expect(net.get("n1").node.status().term).toBe(term);
  });

  it("followers with a live leader reject vote requests that are not a transfer their leader announced", () => {
    const refused: string[] = [];
    const net = new Network(["n1", "n2", "n3"], {
      config: { onRefused: (m, reason) => refused.push(`${m.type}:${reason}`) },
    });
    net.elect("n1");
    const n2 = net.get("n2").node;
    const term = n2.status().term;
    const request: VoteRequest = {
      type: "vote",
      from: "n3",
      to: "n2",
      term: term + 1,
      lastIndex: 100,
      lastTerm: term,
      transfer: false,
    };
    n2.step(request);
    expect(n2.status().term).toBe(term);
    expect(n2.hasReady()).toBe(false);
    // The transfer flag alone is not enough: n1 did not announce a transfer to n3.
    n2.step({ ...request, transfer: true });
    expect(n2.status().term).toBe(term);
    expect(n2.hasReady()).toBe(false);
    expect(refused).toEqual(["vote:transferNotAnnounced"]);
    // Once n1's heartbeat announces n3 as the target, n3's transfer vote (next term) is honoured…
    const heartbeat = { type: "heartbeat", from: "n1", to: "n2", term, commit: 0, readContext: 0 };
    n2.step({ ...heartbeat, type: "heartbeat", transferee: "n3" });
    n2.step({ ...request, term: term + 5, transfer: true });
    expect(n2.status().term).toBe(term);
    expect(refused).toEqual(["vote:transferNotAnnounced", "vote:transferNotAnnounced"]);
    n2.step({ ...request, transfer: true });
    expect(n2.status().term).toBe(term + 1);
    expect(n2.status().vote).toBe("n3");
  });

  it("refuses a vote to a candidate whose log is behind (§5.4.1)", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.propose("n1", "a");
    const n2 = net.get("n2").node;
    const status = n2.status();
    for (let i = 0; i < 10; i++) n2.tick(); // n1's lease runs out: n2 may vote
    n2.step({
      type: "vote",
      from: "n3",
      to: "n2",
      term: status.term + 1,
      lastIndex: 1,
      lastTerm: status.term,
      transfer: false,
    });
    const ready = n2.ready();
    const reply = ready.messagesAfterPersist.find((m) => m.type === "voteResp");
    expect(reply).toMatchObject({ granted: false });
    expect(n2.status().vote).toBeNull();
  });

  it("planted bug voteWithoutLogCheck grants that vote", () => {
    const net = new Network(["n1", "n2", "n3"], {
      config: { plantedBugs: { voteWithoutLogCheck: true } },
    });
    net.elect("n1");
    net.propose("n1", "a");
    const n2 = net.get("n2").node;
    const status = n2.status();
    for (let i = 0; i < 10; i++) n2.tick(); // n1's lease runs out: n2 may vote
    n2.step({
      type: "vote",
      from: "n3",
      to: "n2",
      term: status.term + 1,
      lastIndex: 1,
      lastTerm: status.term,
      transfer: false,
    });
    const reply = n2.ready().messagesAfterPersist.find((m) => m.type === "voteResp");
    expect(reply).toMatchObject({ granted: true });
  });

  it("a split vote is retried in a later term until one candidate wins (§5.2)", () => {
    const net = new Network(["n1", "n2", "n3", "n4"], { config: { preVote: false } });
    // Both campaign in the same term; with 4 voters, a 2-2 split elects nobody.
    net.get("n1").node.campaign();
    net.get("n2").node.campaign();
    net.drainAll();
    net.stabilize(
      (m: Message) =>
        !(
          m.type === "vote" &&
          (m.to === "n3" || m.to === "n4") &&
          ((m.from === "n1" && m.to === "n4") || (m.from === "n2" && m.to === "n3"))
        ),
    );
    expect(net.leaders()).toHaveLength(0);
    const splitTerm = net.get("n1").node.status().term;
    net.tickAll(40);
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    expect(leaders[0].term).toBeGreaterThan(splitTerm);
  });

  it("two followers that pre-campaign together do not split the next term", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const term = net.get("n1").node.status().term;
    // The leader dies; both followers time out in the same tick (they heard its last heartbeat
    // together) and each receives the other's pre-vote while pre-campaigning itself.
    net.isolate("n1");
    net.get("n2").node.campaign();
    net.get("n3").node.campaign();
    net.stabilize();
    const leaders = net.leaders().filter((l) => l.id !== "n1");
    expect(leaders).toEqual([{ id: "n2", term: term + 1 }]);
    expect(net.get("n3").node.status()).toMatchObject({ term: term + 1, leader: "n2" });
  });

  it("a pre-candidate still yields to a pre-candidate whose log is more up to date", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.isolate("n2");
    net.propose("n1", "only n1 and n3 have this");
    const term = net.get("n1").node.status().term;
    net.heal();
    net.isolate("n1");
    net.get("n2").node.campaign();
    net.get("n3").node.campaign();
    net.stabilize();
    expect(net.leaders().filter((l) => l.id !== "n1")).toEqual([{ id: "n3", term: term + 1 }]);
  });

  it("vote requests are sent only after the candidate's own vote is persisted", () => {
    const storage = new MemoryStorage({ voters: ["a", "b", "c"], learners: [] });
    const node = new RawNode({ id: "a", random: seededRandom(3), preVote: false }, storage);
    node.campaign();
    const ready = node.ready();
    expect(ready.hardState).toMatchObject({ term: 1, vote: "a" });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages.filter((m) => m.type === "vote")).toHaveLength(0);
    expect(ready.messagesAfterPersist.filter((m) => m.type === "vote")).toHaveLength(2);
  });

  it("an illegal role transition throws", () => {
    const storage = new MemoryStorage({ voters: ["a", "b", "c"], learners: [] });
    const node = new RawNode({ id: "a", random: seededRandom(3) }, storage);
    expect(() => (node as unknown as { becomeLeader(): void }).becomeLeader()).toThrow(
      /invalid transition/,
    );
  });
});
