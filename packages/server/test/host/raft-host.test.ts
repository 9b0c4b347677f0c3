import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RaftError } from "@dlock/raft";
import { encodeCommand } from "../../src/lock/index.js";
import type { GrantedResult, LockResult } from "../../src/lock/index.js";
import { HostError } from "../../src/host/errors.js";
import type { RoleChange } from "../../src/host/raft-host.js";
import { tempDir } from "../storage/helpers.js";
import { MemoryNetwork, leaderOf, pausableTicks, startNode, waitFor } from "./cluster.js";
import type { TestNode } from "./cluster.js";

const IDS = ["n1", "n2", "n3"];
const acquire = (key: string, value = "v", requestId = 1): Uint8Array =>
  encodeCommand({
    type: "acquire",
    key,
    value,
    ttlMs: 60_000,
    waitMs: 0,
    lockDelayMs: 0,
    requestId,
  });

describe("RaftHost (3 hosts, real LevelDB, in-memory network)", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let network: MemoryNetwork;
  let nodes: TestNode[];
  const dirOf = (id: string) => `${root}/${id}`;
  const startAll = async () => {
    nodes = await Promise.all(IDS.map((id) => startNode(network, id, dirOf(id), IDS)));
  };
  const electedLeader = async (): Promise<TestNode> => {
    await waitFor("a leader", () => leaderOf(nodes) !== undefined);
    return leaderOf(nodes) as TestNode;
  };

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir("host"));
    network = new MemoryNetwork();
    nodes = [];
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.host.stop()));
    await cleanup();
  });

  it("elects one leader and applies a proposal on every node", async () => {
    const changes = new Map<string, RoleChange[]>();
    await startAll();
    for (const n of nodes) {
      changes.set(n.id, []);
      n.host.onRoleChange((c) => changes.get(n.id)?.push(c));
    }
    const leader = await electedLeader();
    const result = (await leader.host.propose(acquire("k1"))) as GrantedResult;
    expect(result.type).toBe("granted");
    expect(result.token).toBeGreaterThan(0);
    await waitFor("k1 applied everywhere", () => nodes.every((n) => n.table.get("k1").held));
    for (const n of nodes) expect(n.table.get("k1").fencingToken).toBe(result.token);
    expect(nodes.filter((n) => n.host.status().role === "leader")).toHaveLength(1);
    // The lease manager learns "became leader at" from this event.
    const becameLeader = changes.get(leader.id)?.find((c) => c.role === "leader");
    expect(becameLeader).toMatchObject({ role: "leader", leader: leader.id });
    expect(becameLeader?.atMs).toBeGreaterThan(0);
  });

  it("publishes a removed voter as departing before it applies the members without it, until it confirms", async () => {
    await startAll();
    const leader = await electedLeader();
    const removed = nodes.find((n) => n !== leader) as TestNode;
    const events: string[] = [];
    leader.host.onDepartingChange((ids) => events.push(`departing ${ids.join(",")}`));
    leader.host.onMembersChange((m) => events.push(`members ${m.voters.join(",")}`));
    await leader.host.proposeConfChange({ type: "remove", nodeId: removed.id });
    const commit = leader.host.status().commit;
    await waitFor(`${removed.id} learns its removal committed`, () => {
      return removed.host.status().commit >= commit;
    });
    const voters = IDS.filter((id) => id !== removed.id).join(",");
    await waitFor(
      `${leader.id} applies the removal and forgets ${removed.id}`,
      () => events.includes(`members ${voters}`) && events.includes("departing "),
    );
    // The transport must keep its link from before the members drop it until it confirmed.
    const departing = events.indexOf(`departing ${removed.id}`);
    expect(departing).toBeGreaterThanOrEqual(0);
    expect(departing).toBeLessThan(events.indexOf(`members ${voters}`));
    expect(events.filter((e) => e.startsWith("departing"))).toEqual([
      `departing ${removed.id}`,
      "departing ",
    ]);
  });

  it("refuses proposals and reads on a follower with a leader hint; ReadIndex works on the leader", async () => {
    await startAll();
    const leader = await electedLeader();
    await leader.host.propose(acquire("k"));
    const follower = nodes.find((n) => n !== leader) as TestNode;
    await waitFor("follower knows the leader", () => follower.host.status().leader === leader.id);
    const error = await follower.host.propose(acquire("x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RaftError);
    expect((error as RaftError).code).toBe("NOT_LEADER");
    expect((error as RaftError).leader).toBe(leader.id);
    await expect(follower.host.readIndex()).rejects.toMatchObject({ code: "NOT_LEADER" });
    await leader.host.readIndex();
    expect(leader.table.get("k").held).toBe(true);
  });

  it("restarts the whole cluster from disk with log, hard state, applied index and lock table", async () => {
    await startAll();
    const leader = await electedLeader();
    const tokens: number[] = [];
    for (let i = 0; i < 20; i++) {
      tokens.push(((await leader.host.propose(acquire(`key${i}`))) as GrantedResult).token);
    }
    await waitFor("all applied", () => nodes.every((n) => n.table.get("key19").held));
    const before = nodes.map((n) => n.host.status());
    await Promise.all(nodes.map((n) => n.host.stop()));
    await startAll();
    for (let i = 0; i < nodes.length; i++) {
      const status = nodes[i].host.status();
      expect(status.term).toBeGreaterThanOrEqual(before[i].term);
      expect(status.lastIndex).toBeGreaterThanOrEqual(before[i].lastIndex);
      // The lock table was reloaded from LevelDB, not only re-applied from the log.
      expect(status.durableAppliedIndex).toBeGreaterThanOrEqual(tokens[19]);
      for (let k = 0; k < 20; k++)
        expect(nodes[i].table.get(`key${k}`).fencingToken).toBe(tokens[k]);
    }
    const newLeader = await electedLeader();
    const next = (await newLeader.host.propose(acquire("after"))) as GrantedResult;
    expect(next.token).toBeGreaterThan(tokens[19]);
  });

  it("a killed and reopened node catches up", async () => {
    await startAll();
    const leader = await electedLeader();
    await leader.host.propose(acquire("first"));
    const victim = nodes.find((n) => n !== leader) as TestNode;
    await waitFor("victim applied first", () => victim.table.get("first").held);
    network.isolate(victim.id);
    await victim.host.stop();
    nodes = nodes.filter((n) => n !== victim);
    const live = await electedLeader();
    for (let i = 0; i < 30; i++) await live.host.propose(acquire(`while-down-${i}`));
    network.heal(victim.id);
    const back = await startNode(network, victim.id, dirOf(victim.id), IDS);
    nodes.push(back);
    expect(back.table.get("first").held).toBe(true);
    const target = live.host.status().commit;
    await waitFor("victim caught up", () => back.host.status().applied >= target);
    for (let i = 0; i < 30; i++) expect(back.table.get(`while-down-${i}`).held).toBe(true);
  });

  it("group commit: many concurrent proposals share few fsyncs", async () => {
    await startAll();
    const leader = await electedLeader();
    await leader.host.propose(acquire("warm"));
    const before = leader.host.status().storage.syncedBatches;
    const proposals = 500;
    const results = await Promise.all(
      Array.from({ length: proposals }, (_, i) => leader.host.propose(acquire(`g${i}`))),
    );
    const tokens = results.map((r) => (r as GrantedResult).token);
    expect(new Set(tokens).size).toBe(proposals);
    const fsyncs = leader.host.status().storage.syncedBatches - before;
    // Submitted in one macrotask, the proposals enter one Ready: a handful of synced batches at
    // most (the commit-index hard state update may take another), never one per proposal.
    expect(fsyncs).toBeLessThanOrEqual(10);
    expect(fsyncs).toBeGreaterThanOrEqual(1);
  });

  it("transfers leadership to an up-to-date follower", async () => {
    await startAll();
    const leader = await electedLeader();
    await leader.host.propose(acquire("t"));
    await waitFor("replicated", () => nodes.every((n) => n.table.get("t").held));
    const target = await leader.host.transferLeadership();
    expect(target).not.toBe(leader.id);
    await waitFor("new leader is the target", () => leaderOf(nodes)?.id === target);
    const next = leaderOf(nodes) as TestNode;
    const result = (await next.host.propose(acquire("t2"))) as LockResult;
    expect(result.type).toBe("granted");
  });

  it("a transfer to a follower that never answers fails after about an election timeout, and the leader leads on", async () => {
    network = new MemoryNetwork();
    nodes = await Promise.all(
      IDS.map((id) => startNode(network, id, dirOf(id), IDS, { transferTimeoutMs: 60_000 })),
    );
    const leader = await electedLeader();
    const silent = nodes.find((n) => n !== leader) as TestNode;
    network.isolate(silent.id);
    const started = performance.now();
    const error = await leader.host.transferLeadership(silent.id).catch((e: unknown) => e);
    const elapsedMs = performance.now() - started;
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).message).toMatch(/abandoned/);
    // The core gives up after one election timeout (ticks); far below the 60 s given.
    expect(elapsedMs).toBeLessThan(30_000);
    expect(leader.host.status().role).toBe("leader");
    expect(((await leader.host.propose(acquire("after"))) as LockResult).type).toBe("granted");
    network.heal(silent.id);
  });

  it("a failing disk stops the leader (typed refusals, unhealthy); it resumes, consistent, once writes work", async () => {
    let broken = "";
    network = new MemoryNetwork();
    nodes = await Promise.all(
      IDS.map((id) =>
        startNode(network, id, dirOf(id), IDS, {
          writeFault: () =>
            broken === id ? new Error("ENOSPC: no space left on device") : undefined,
          storageRetryDelayMsMin: 5,
          storageRetryDelayMsMax: 20,
        }),
      ),
    );
    const leader = await electedLeader();
    await leader.host.propose(acquire("ok"));
    await leader.host.checkStorageWritable();
    const durableBefore = leader.storage.lastIndex();
    broken = leader.id;
    const error = await leader.host.propose(acquire("unknown")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).code).toBe("UNHEALTHY");
    expect(leader.host.healthy()).toBe(false);
    const status = leader.host.status();
    expect(status.storageFailing).toBe(true);
    expect(status.failure).toMatch(/ENOSPC/);
    await expect(leader.host.checkStorageWritable()).rejects.toMatchObject({ code: "UNHEALTHY" });
    await expect(leader.host.propose(acquire("again"))).rejects.toMatchObject({
      code: "UNHEALTHY",
    });
    await expect(leader.host.readIndex()).rejects.toMatchObject({ code: "UNHEALTHY" });
    // Nothing reached its disk while failing: the retries keep failing (waited for, not slept on:
    // on a loaded machine 100 ms may hold fewer than three retries).
    await waitFor(
      "three failed write attempts",
      () => leader.host.status().groupCommit.failedAttempts > 2,
    );
    expect(leader.storage.lastIndex()).toBe(durableBefore);

    // It stopped ticking and answering: the others elect a leader and go on.
    const others = nodes.filter((n) => n !== leader);
    await waitFor("a new leader among the healthy", () => leaderOf(others) !== undefined);
    const next = leaderOf(others) as TestNode;
    expect(((await next.host.propose(acquire("after"))) as LockResult).type).toBe("granted");

    broken = "";
    await waitFor("the old leader writes again", () => leader.host.healthy());
    await waitFor("it follows the new leader and catches up", () => leader.table.get("after").held);
    expect(leader.host.status().role).toBe("follower");
    // The proposal whose outcome was unknown went the same way everywhere.
    await waitFor("every table equal", () =>
      nodes.every((n) => n.table.stateHash() === next.table.stateHash()),
    );
    const unknownHeld = next.table.get("unknown").held;
    await leader.host.stop();
    nodes = nodes.filter((n) => n !== leader);
    const restarted = await startNode(network, leader.id, dirOf(leader.id), IDS);
    nodes.push(restarted);
    expect(restarted.table.get("ok").held).toBe(true);
    expect(restarted.table.get("after").held).toBe(true);
    await waitFor(
      "restarted node agrees",
      () => restarted.table.get("unknown").held === unknownHeld,
    );
  });

  it("compacts behind a durable snapshot and restarts from snapshot + tail", async () => {
    nodes = await Promise.all(
      IDS.map((id) => startNode(network, id, dirOf(id), IDS, { compactionEntries: 0 })),
    );
    const leader = await electedLeader();
    for (let i = 0; i < 40; i++) await leader.host.propose(acquire(`c${i}`));
    await waitFor("applied everywhere", () => nodes.every((n) => n.table.get("c39").held));
    const index = await leader.host.compact();
    expect(index).not.toBeNull();
    const status = leader.host.status();
    expect(status.firstIndex).toBe((index as number) + 1);
    expect(leader.storage.snapshot().metadata.index).toBe(index);
    await leader.host.propose(acquire("tail"));
    const leaderId = leader.id;
    await Promise.all(nodes.map((n) => n.host.stop()));
    await startAll();
    const reopened = nodes.find((n) => n.id === leaderId) as TestNode;
    expect(reopened.host.status().firstIndex).toBe((index as number) + 1);
    expect(reopened.table.get("c0").held).toBe(true);
    expect(reopened.table.get("tail").held).toBe(true);
  });

  it("a node behind the leader's compaction receives a snapshot and installs it", async () => {
    nodes = await Promise.all(
      IDS.map((id) => startNode(network, id, dirOf(id), IDS, { compactionEntries: 0 })),
    );
    const leader = await electedLeader();
    await leader.host.propose(acquire("before"));
    const victim = nodes.find((n) => n !== leader) as TestNode;
    await waitFor("victim applied", () => victim.table.get("before").held);
    network.isolate(victim.id);
    await victim.host.stop();
    nodes = nodes.filter((n) => n !== victim);
    for (let i = 0; i < 50; i++) {
      await leader.host.propose(acquire(`s${i}`));
    }
    // Release "before": after the snapshot the victim must not keep it (its table is replaced).
    const before = leader.table.get("before");
    await leader.host.propose(
      encodeCommand({
        type: "release",
        key: "before",
        value: "v",
        token: before.fencingToken as number,
      }),
    );
    const compactedTo = await leader.host.compact();
    expect(compactedTo).not.toBeNull();
    for (const n of nodes) if (n !== leader) await n.host.compact();
    network.heal(victim.id);
    const back = await startNode(network, victim.id, dirOf(victim.id), IDS);
    nodes.push(back);
    // Listeners hear of the install once the table holds it (LimitsChangeLog re-reads its limits).
    const heard: Array<{ index: number; held: boolean }> = [];
    back.host.onSnapshotInstalled((index) =>
      heard.push({ index, held: back.table.get("s49").held }),
    );
    await waitFor(
      "victim installed the snapshot",
      () => back.storage.snapshot().metadata.index >= (compactedTo as number),
    );
    await waitFor("victim caught up", () => back.host.status().applied >= (compactedTo as number));
    expect(heard).toEqual([{ index: back.storage.snapshot().metadata.index, held: true }]);
    expect(back.table.get("s49").held).toBe(true);
    expect(back.table.get("before").held).toBe(false);
    await waitFor(
      "durable table rewritten",
      () => back.host.status().durableAppliedIndex >= (compactedTo as number),
    );
    const stored = await back.storage.readLockRecords();
    expect(stored.map(([key]) => key)).not.toContain("before");
    expect(stored.map(([key]) => key)).toContain("s0");
  });

  it("a one-node cluster elects itself, applies, serves ReadIndex and restarts", async () => {
    nodes = [await startNode(network, "solo", dirOf("solo"), ["solo"])];
    const solo = await electedLeader();
    const granted = (await solo.host.propose(acquire("one"))) as GrantedResult;
    expect(granted.type).toBe("granted");
    await solo.host.readIndex();
    await solo.host.stop();
    nodes = [await startNode(network, "solo", dirOf("solo"), ["solo"])];
    expect(nodes[0].table.get("one").fencingToken).toBe(granted.token);
    await electedLeader();
  });

  it("compacts automatically every compactionEntries applied entries, keeping the log bounded", async () => {
    nodes = await Promise.all(
      IDS.map((id) => startNode(network, id, dirOf(id), IDS, { compactionEntries: 20 })),
    );
    const leader = await electedLeader();
    for (let i = 0; i < 100; i++) await leader.host.propose(acquire(`a${i}`));
    await waitFor("every node compacted", () =>
      nodes.every((n) => n.storage.firstIndex() > 60 && n.table.get("a99").held),
    );
    for (const n of nodes) {
      const { firstIndex, lastIndex } = n.host.status();
      expect(lastIndex - firstIndex + 1).toBeLessThanOrEqual(2 * 20 + 5);
    }
  });

  /** A one-node cluster compacting at 15 of 20 entries, elected, then with its ticks off. */
  const compactingSoloWithoutTicks = async (): Promise<TestNode> => {
    const { scheduler, ticks } = pausableTicks();
    nodes = [
      await startNode(network, "solo", dirOf("solo"), ["solo"], {
        compactionEntries: 20,
        scheduler,
      }),
    ];
    const solo = await electedLeader();
    ticks.on = false;
    return solo;
  };

  it("starts the next compaction when one ends with the log still over its bound", async () => {
    // No ticks once elected: nothing but the ending compaction can start the next one.
    const solo = await compactingSoloWithoutTicks();
    // A compaction takes its snapshot at once but ends only when the test lets it: one slow to
    // dump its table, while the node applies on.
    let endCompaction = (): void => undefined;
    const ended = new Promise<void>((resolve) => (endCompaction = resolve));
    const createSnapshot = solo.storage.createSnapshot.bind(solo.storage);
    solo.storage.createSnapshot = async () => {
      const metadata = await createSnapshot();
      await ended;
      return metadata;
    };
    let i = 0;
    while (solo.storage.stats.snapshotsTaken === 0) await solo.host.propose(acquire(`c${i++}`));
    // The burst's last applies land while that compaction runs: they cannot start another.
    while (solo.host.status().logEntries < 30) await solo.host.propose(acquire(`c${i++}`));
    const applied = solo.host.status().applied;
    endCompaction();
    await waitFor("a second compaction", () => solo.storage.stats.snapshotsTaken >= 2);
    expect(solo.host.status()).toMatchObject({ applied, snapshotIndex: applied, logEntries: 0 });
  });

  it("compacts after a burst applied before its applied index was written", async () => {
    const solo = await compactingSoloWithoutTicks();
    await solo.host.propose(acquire("first"));
    const snapshotIndex = await solo.host.compact();
    expect(solo.host.status().durableAppliedIndex).toBe(snapshotIndex);
    // One turn: one Ready, applied at once as the leader's own write ends, before any batch
    // writes the applied index past the snapshot's.
    const burst = Array.from({ length: 16 }, (_, i) => solo.host.propose(acquire(`d${i}`)));
    await Promise.all(burst);
    const applied = solo.host.status().applied;
    await waitFor("the burst compacted", () => solo.host.status().snapshotIndex === applied);
    expect(solo.host.status().logEntries).toBe(0);
  });

  it("compacts when the log reaches compactionBytes, whatever its entry count", async () => {
    nodes = await Promise.all(
      IDS.map((id) =>
        startNode(network, id, dirOf(id), IDS, { compactionEntries: 0, compactionBytes: 4096 }),
      ),
    );
    const leader = await electedLeader();
    for (let i = 0; i < 150; i++) await leader.host.propose(acquire(`b${i}`, "x".repeat(40)));
    await waitFor("every node compacted by bytes", () =>
      nodes.every((n) => n.storage.stats.snapshotsTaken >= 2 && n.table.get("b149").held),
    );
    for (const n of nodes) expect(n.host.status().logBytes).toBeLessThan(2 * 4096);
  });
});
