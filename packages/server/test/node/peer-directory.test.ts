import { describe, expect, it } from "vitest";
import { encodeMemberContext } from "../../src/host/cluster-members.js";
import { PeerDirectory } from "../../src/node/peer-directory.js";
import { EMPTY_MEMBERS } from "../../src/storage/members-record.js";

const SEEDS = { n1: "h1:1", n2: "h2:1", n3: "h3:1" };

function directory(applied = EMPTY_MEMBERS) {
  const published: Array<Record<string, string>> = [];
  const dir = new PeerDirectory({
    self: "n1",
    seeds: SEEDS,
    applied,
    transport: { setPeers: (peers) => published.push(peers) },
  });
  return { dir, published };
}

describe("PeerDirectory", () => {
  it("dials the command-line list until the node knows members, then the replicated addresses", () => {
    const { dir, published } = directory();
    expect(dir.peers()).toEqual({ n2: "h2:1", n3: "h3:1" });
    dir.membersApplied({
      voters: ["n1", "n2", "n4"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:2", n4: "h4:1" },
    });
    // n3 was removed and n2 moved: the replicated record wins over the command line.
    expect(published).toEqual([{ n2: "h2:2", n4: "h4:1" }]);
    expect(dir.addressOf("n4")).toBe("h4:1");
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
});
