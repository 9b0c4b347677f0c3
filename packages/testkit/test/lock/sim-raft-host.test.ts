import { RaftError } from "@dlock/raft";
import type { Entry } from "@dlock/raft";
import type { RoleChange } from "@dlock/server/internal";
import { HostError } from "@dlock/server/internal";
import type { LockResult } from "@dlock/server/lock";
import { describe, expect, it } from "vitest";
import { SimRaftHost } from "../../src/lock/sim-raft-host.js";
import type { SimNode } from "../../src/sim-node.js";

/** The few SimNode members SimRaftHost uses, driven by hand. */
function fakeNode() {
  const node = {
    applied: 0,
    leaderHint: null as string | null,
    nextIndex: 1,
    term: 1,
    leading: true,
    reads: [] as number[],
    propose(): { index: number; term: number } | { error: string } {
      if (!node.leading) return { error: "NOT_LEADER" };
      return { index: node.nextIndex++, term: node.term };
    },
    readIndex(id: number): { error: string } | undefined {
      if (!node.leading) return { error: "NOT_LEADER" };
      node.reads.push(id);
      return undefined;
    },
  };
  return node;
}

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  kind: "normal",
  data: new Uint8Array(0),
});

const released: LockResult = { type: "released", key: "k", value: "v", token: 1, next: null };

describe("SimRaftHost: RaftHost's contract on a simulated node", () => {
  it("resolves a proposal with its result once that (index, term) is applied", async () => {
    const node = fakeNode();
    let readIds = 0;
    const host = new SimRaftHost(node as unknown as SimNode, {
      nowMs: () => 42,
      readId: () => ++readIds,
    });
    const applied: number[] = [];
    host.onApply((entries) => applied.push(...entries.map((e) => e.index)));
    const first = host.propose(new Uint8Array(1));
    const second = host.propose(new Uint8Array(1));
    host.applied(entry(1, 1), released);
    // Another entry was committed in slot 2: ours was not applied.
    host.applied(entry(2, 2), undefined);
    await expect(first).resolves.toEqual(released);
    await expect(second).rejects.toMatchObject({ code: "PROPOSAL_LOST" });
    expect(applied).toEqual([1, 2]);
  });

  it("does not call a proposal truncated from this log lost: another leader may commit it", async () => {
    const node = fakeNode();
    const host = new SimRaftHost(node as unknown as SimNode, { nowMs: () => 0, readId: () => 1 });
    const first = host.propose(new Uint8Array(1));
    // Our entry 1 of term 1 was truncated; leading again in term 3, we propose into slot 1.
    node.nextIndex = 1;
    node.term = 3;
    const second = host.propose(new Uint8Array(1));
    await expect(first).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN" });
    host.applied(entry(1, 3), released);
    await expect(second).resolves.toEqual(released);
  });

  it("serves a read once its confirmed index is applied, and fails reads on losing leadership", async () => {
    const node = fakeNode();
    let readIds = 0;
    const host = new SimRaftHost(node as unknown as SimNode, {
      nowMs: () => 7,
      readId: () => ++readIds,
    });
    const changes: RoleChange[] = [];
    host.onRoleChange((change) => changes.push(change));
    host.softStateChanged("leader", "n1", 3);
    let served = false;
    const read = host.readIndex().then(() => {
      served = true;
    });
    host.readState(1, 5);
    await Promise.resolve();
    expect(served).toBe(false);
    node.applied = 5;
    host.applied(entry(5, 3), undefined);
    await read;
    expect(served).toBe(true);

    const dropped = host.readIndex();
    host.readDropped(2);
    await expect(dropped).rejects.toBeInstanceOf(HostError);
    const lost = host.readIndex();
    host.softStateChanged("follower", "n2", 4);
    await expect(lost).rejects.toMatchObject({ code: "NOT_LEADER", leader: "n2" });
    expect(changes).toEqual([
      { role: "leader", leader: "n1", term: 3, atMs: 7 },
      { role: "follower", leader: "n2", term: 4, atMs: 7 },
    ]);
  });

  it("refuses on a follower with the core's NOT_LEADER error and the leader hint", async () => {
    const node = fakeNode();
    node.leading = false;
    node.leaderHint = "n3";
    const host = new SimRaftHost(node as unknown as SimNode, { nowMs: () => 0, readId: () => 1 });
    await expect(host.propose(new Uint8Array(1))).rejects.toMatchObject({
      code: "NOT_LEADER",
      leader: "n3",
    });
    await expect(host.readIndex()).rejects.toBeInstanceOf(RaftError);
  });

  it("leaves proposals covered by an installed snapshot undecided", async () => {
    const node = fakeNode();
    const host = new SimRaftHost(node as unknown as SimNode, { nowMs: () => 0, readId: () => 1 });
    const proposal = host.propose(new Uint8Array(1));
    host.restored(10);
    await expect(proposal).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN" });
  });
});
