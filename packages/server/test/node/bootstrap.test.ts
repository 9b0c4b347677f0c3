import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RawNode } from "@dlock/raft";
import { decodeMemberContext } from "../../src/host/cluster-members.js";
import { bootstrapEntries, bootstrapIfNew } from "../../src/node/bootstrap.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { EMPTY_MEMBERS } from "../../src/storage/members-record.js";
import type { ClusterMembers } from "../../src/storage/members-record.js";
import { lockStateMachineAdapter } from "../../src/host/lock-state-machine-adapter.js";
import { RaftHost } from "../../src/host/raft-host.js";
import { LockStateMachine } from "../../src/lock/index.js";
import { MemoryNetwork, silentLogger, waitFor } from "../host/cluster.js";
import { tempDir } from "../storage/helpers.js";

const PEERS = { n3: "10.0.0.3:7101", n1: "10.0.0.1:7101", n2: "10.0.0.2:7101" };

describe("bootstrap: the founding members are the first log entries", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: LevelStorage | null = null;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("bootstrap"));
  });
  afterEach(async () => {
    await storage?.close();
    storage = null;
    await cleanup();
  });
  const open = async () => {
    storage = await LevelStorage.open({
      dataDir: dir,
      clusterId: "c",
      nodeId: "n1",
      initialMembers: EMPTY_MEMBERS,
    });
    return storage;
  };

  it("are the same on every founder whatever the order of the list: one voter per entry, in term 1", () => {
    const entries = bootstrapEntries(PEERS);
    expect(bootstrapEntries({ n1: PEERS.n1, n2: PEERS.n2, n3: PEERS.n3 })).toEqual(entries);
    expect(entries.map((e) => [e.index, e.term, e.kind, e.change?.type, e.change?.nodeId])).toEqual(
      [
        [1, 1, "config", "promote", "n1"],
        [2, 1, "config", "promote", "n2"],
        [3, 1, "config", "promote", "n3"],
      ],
    );
    expect(decodeMemberContext(entries[2].change?.context)).toEqual({ peerAddress: PEERS.n3 });
  });

  it("are written once into a new folder, committed, and give the core its voters", async () => {
    const s = await open();
    expect(await bootstrapIfNew(s, { join: false, peers: PEERS })).toBe(true);
    expect(await bootstrapIfNew(s, { join: false, peers: PEERS })).toBe(false);
    expect([s.lastIndex(), s.initialState().hardState]).toEqual([
      3,
      { term: 1, vote: null, commit: 3 },
    ]);
    const node = new RawNode({ id: "n1", random: () => 0.5 }, s);
    expect(node.status().confState).toEqual({ voters: ["n1", "n2", "n3"], learners: [] });
    expect(node.ready().committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it("are not written by a node that joins: it learns them from the leader", async () => {
    const s = await open();
    expect(await bootstrapIfNew(s, { join: true, peers: PEERS })).toBe(false);
    expect(s.lastIndex()).toBe(0);
    const node = new RawNode({ id: "n1", random: () => 0.5 }, s);
    expect(node.status().confState).toEqual({ voters: [], learners: [] });
  });

  it("reach the host's members listeners once, with every founder (no drop and redial between)", async () => {
    const s = await open();
    await bootstrapIfNew(s, { join: false, peers: PEERS });
    const host = await RaftHost.start({
      id: "n1",
      storage: s,
      transport: new MemoryNetwork().transport("n1"),
      stateMachine: lockStateMachineAdapter(
        new LockStateMachine({ limits: { electionTimeoutMs: 1_000 } }),
      ),
      logger: silentLogger,
    });
    const heard: ClusterMembers[] = [];
    host.onMembersChange((members) => heard.push(members));
    try {
      await waitFor("the founding entries applied", () => s.appliedMembers().voters.length === 3);
      expect(heard.map((m) => m.voters)).toEqual([["n1", "n2", "n3"]]);
    } finally {
      await host.stop();
    }
  });
});
