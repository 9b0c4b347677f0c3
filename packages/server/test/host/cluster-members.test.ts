// The members record as the host keeps it at apply: addresses from config entries, and the voters
// removed since (with the change's index), which a leader needs after a restart to tell a removed
// voter that missed its removal.
import { describe, expect, it } from "vitest";
import { applyMemberChange, encodeMemberContext } from "../../src/host/cluster-members.js";
import {
  REMOVED_VOTERS_KEPT,
  decodeMembers,
  encodeMembers,
} from "../../src/storage/members-record.js";
import type { ClusterMembers } from "../../src/storage/members-record.js";
import { StorageError } from "../../src/storage/errors.js";

const THREE: ClusterMembers = {
  voters: ["n1", "n2", "n3"],
  learners: ["l1"],
  peerAddresses: { n1: "h1:1", n2: "h2:1", n3: "h3:1", l1: "hl:1" },
};

describe("applyMemberChange and removed voters", () => {
  it("records a removed voter with the change's index and its address; not a removed learner", () => {
    let members = applyMemberChange(THREE, { type: "remove", nodeId: "n3" }, 7);
    members = applyMemberChange(members, { type: "remove", nodeId: "l1" }, 8);
    expect(members).toEqual({
      voters: ["n1", "n2"],
      learners: [],
      peerAddresses: { n1: "h1:1", n2: "h2:1" },
      removedVoters: [{ id: "n3", index: 7, peerAddress: "h3:1" }],
    });
    // The input is not changed (the host compares records by identity).
    expect(THREE.removedVoters).toBeUndefined();
  });

  it("forgets a removed voter once it is added back", () => {
    const removed = applyMemberChange(THREE, { type: "remove", nodeId: "n3" }, 7);
    const context = encodeMemberContext({ peerAddress: "h3:2" });
    const back = applyMemberChange(removed, { type: "addLearner", nodeId: "n3", context }, 9);
    expect(back.removedVoters).toBeUndefined();
    expect(back.peerAddresses.n3).toBe("h3:2");
    const again = applyMemberChange(
      applyMemberChange(back, { type: "promote", nodeId: "n3" }, 10),
      { type: "remove", nodeId: "n3" },
      11,
    );
    expect(again.removedVoters).toEqual([{ id: "n3", index: 11, peerAddress: "h3:2" }]);
  });

  it(`keeps the newest ${REMOVED_VOTERS_KEPT} removed voters`, () => {
    let members: ClusterMembers = { voters: ["n0"], learners: [], peerAddresses: { n0: "h0:1" } };
    let index = 1;
    for (let i = 1; i <= REMOVED_VOTERS_KEPT + 2; i++) {
      const id = `v${i}`;
      const context = encodeMemberContext({ peerAddress: `hv:${i}` });
      members = applyMemberChange(members, { type: "addLearner", nodeId: id, context }, index++);
      members = applyMemberChange(members, { type: "promote", nodeId: id }, index++);
      members = applyMemberChange(members, { type: "remove", nodeId: id }, index++);
    }
    const removed = members.removedVoters ?? [];
    expect(removed).toHaveLength(REMOVED_VOTERS_KEPT);
    expect(removed[0]).toEqual({ id: "v3", index: 9, peerAddress: "hv:3" });
    expect(removed.at(-1)?.id).toBe(`v${REMOVED_VOTERS_KEPT + 2}`);
  });
});

describe("the stored members record", () => {
  it("round-trips removed voters, and reads a record written before they were kept", () => {
    const members = applyMemberChange(THREE, { type: "remove", nodeId: "n3" }, 7);
    expect(decodeMembers(encodeMembers(members))).toEqual(members);
    const old = Buffer.from(JSON.stringify({ ...THREE }), "utf8");
    expect(decodeMembers(old)).toEqual(THREE);
  });

  it("refuses a malformed removed-voter list as corrupt", () => {
    for (const removedVoters of [
      "n3",
      [{ id: "", index: 7, peerAddress: null }],
      [{ id: "n3", index: 0, peerAddress: null }],
      [{ id: "n3", index: 7, peerAddress: 5 }],
      [null],
    ]) {
      const bytes = Buffer.from(JSON.stringify({ ...THREE, removedVoters }), "utf8");
      expect(() => decodeMembers(bytes)).toThrow(StorageError);
    }
  });
});
