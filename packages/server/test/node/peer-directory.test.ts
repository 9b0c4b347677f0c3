import { describe, expect, it } from "vitest";
import { encodeMemberContext } from "../../src/host/cluster-members.js";
import { PeerDirectory } from "../../src/node/peer-directory.js";
import { EMPTY_MEMBERS } from "../../src/storage/members-record.js";

const SEEDS = { n1: "h1:1", n2: "h2:1", n3: "h3:1" };

function directory(applied = EMPTY_MEMBERS) {
  const published: Array<Record<string, string>> = [];
  const former: string[][] = [];
  const dir = new PeerDirectory({
    self: "n1",
    seeds: SEEDS,
    applied,
    transport: {
      setPeers: (peers) => published.push(peers),
      setFormerPeers: (ids) => former.push([...ids]),
    },
  });
  return { dir, published, former };
}

describe("PeerDirectory", () => {
  it("dials the command-line list until the node knows members, then the replicated members", () => {
    const { dir, published } = directory();
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1" });
    dir.membersApplied({
      voters: ["n1", "n2", "n4"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1", n4: "h4:1" },
    });
    // n3 was removed (the command line still names it) and n4 added (the command line does not).
    expect(published).toEqual([{ n2: "h2:1", n4: "h4:1" }]);
    expect(dir.addressOf("n4")).toBe("h4:1");
    expect(dir.movedMembers()).toEqual([]);
  });

  it("takes a member's address from the command line where it differs (the member moved)", () => {
    // Recorded at n2 = h2:0, restarted with n2 = h2:1 on the command line.
    const { dir, published } = directory({
      voters: ["n1", "n2", "n3", "n5"],
      learners: [],
      peerAddresses: { n1: "h1:0", n2: "h2:0", n3: "h3:1", n5: "h5:1" },
    });
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1", n5: "h5:1" });
    expect(dir.movedMembers()).toEqual([
      { id: "n1", replicated: "h1:0", commandLine: "h1:1" },
      { id: "n2", replicated: "h2:0", commandLine: "h2:1" },
    ]);
    // A later change of the members keeps the command line's address for the members it names.
    dir.membersApplied({
      voters: ["n1", "n2", "n5"],
      learners: [],
      peerAddresses: { n1: "h1:0", n2: "h2:0", n5: "h5:1" },
    });
    expect(published).toEqual([{ n2: "h2:1", n5: "h5:1" }]);
  });

  it("reaches a member as soon as its addition is appended, before it is applied", () => {
    const { dir, published } = directory({
      voters: ["n1", "n2", "n3"],
      learners: [],
      peerAddresses: SEEDS,
    });
    dir.changeAppended({
      type: "addLearner",
      nodeId: "n4",
      context: encodeMemberContext({ peerAddress: "h4:1" }),
    });
    expect(published.at(-1)).toEqual({ n2: "h2:1", n3: "h3:1", n4: "h4:1" });
    dir.changeAppended({ type: "promote", nodeId: "n4" });
    dir.membersApplied({
      voters: ["n1", "n2", "n3"],
      learners: ["n4"],
      peerAddresses: { ...SEEDS, n4: "h4:1" },
    });
    // Nothing changed for the transport: it is told once.
    expect(published).toHaveLength(1);
  });

  it("keeps a removed voter's link while the leader tells it of its removal, then drops it", () => {
    const { dir, published } = directory({
      voters: ["n1", "n2", "n4"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1", n4: "h4:1" },
    });
    // The removal of n4 committed: the host says so before it applies the members without n4.
    dir.departingChanged(["n4"]);
    expect(published).toEqual([]);
    dir.membersApplied({
      voters: ["n1", "n2"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1" },
    });
    expect(published).toEqual([]);
    expect(dir.peers()).toEqual({ n2: "h2:1", n4: "h4:1" });
    // An id it never knew an address for is not dialed.
    dir.departingChanged(["n4", "n9"]);
    expect(published).toEqual([]);
    // n4 confirmed (or the leader gave up on it): its link goes.
    dir.departingChanged([]);
    expect(published).toEqual([{ n2: "h2:1" }]);
  });

  it("accepts former members without dialing them, and dials one a new leader must tell", () => {
    const { dir, published, former } = directory({
      voters: ["n1", "n2", "n3", "n4"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1", n3: "h3:1", n4: "h4:1" },
    });
    expect(dir.acceptedFormerPeers()).toEqual([]);
    // Another leader committed the removal of n4: this node, a follower, applies it.
    dir.membersApplied({
      voters: ["n1", "n2", "n3"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1", n3: "h3:1" },
      removedVoters: [{ id: "n4", index: 9, peerAddress: "h4:1" }],
    });
    expect(published).toEqual([{ n2: "h2:1", n3: "h3:1" }]);
    expect(former).toEqual([["n4"]]);
    // Later it leads, and n4 asks it for votes: its core tells n4 at the address n4 had.
    dir.departingChanged(["n4"]);
    expect(published.at(-1)).toEqual({ n2: "h2:1", n3: "h3:1", n4: "h4:1" });
    dir.departingChanged([]);
    expect(published.at(-1)).toEqual({ n2: "h2:1", n3: "h3:1" });
    expect(dir.acceptedFormerPeers()).toEqual(["n4"]);
    // Added back: a member, dialed, and no longer former.
    dir.membersApplied({
      voters: ["n1", "n2", "n3"],
      learners: ["n4"],
      peerAddresses: { n1: "h1:1", n2: "h2:1", n3: "h3:1", n4: "h4:2" },
    });
    expect(former.at(-1)).toEqual([]);
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1", n4: "h4:2" });
  });

  it("knows a removed voter's address from the members record after a restart", () => {
    // n4 was removed before this process started; the command line never named it.
    const { dir } = directory({
      voters: ["n1", "n2", "n3"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1", n3: "h3:1" },
      removedVoters: [{ id: "n4", index: 9, peerAddress: "h4:1" }],
    });
    expect(dir.acceptedFormerPeers()).toEqual(["n4"]);
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1" });
    // It leads, and n4 asks it for votes: it dials n4 to tell it.
    dir.departingChanged(["n4"]);
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1", n4: "h4:1" });
  });

  it("accepts command-line ids that are not members (removed before the record kept removed voters)", () => {
    const { dir } = directory({
      voters: ["n1", "n2"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1" },
    });
    expect(dir.acceptedFormerPeers()).toEqual(["n3"]);
    expect(dir.peers()).toEqual({ n2: "h2:1" });
    dir.departingChanged(["n3"]);
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1" });
  });
});
