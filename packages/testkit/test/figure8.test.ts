import type { PlantedBugs } from "@dlock/raft/internal";
import { withPlantedBugs } from "@dlock/raft/internal";
import { describe, expect, it } from "vitest";
import { SafetyViolation } from "../src/checkers/violation.js";
import { hostedRaftCluster } from "../src/hosted-raft-cluster.js";
import type { ClusterNode } from "../src/cluster-node.js";
import type { HostedSimNode } from "../src/lock/hosted-sim-node.js";

// The Raft paper's Figure 8, driven step by step on the simulated cluster with the real core:
// (a) S1 leads and appends an entry that reaches no one; (b) S1 crashes, S3 is elected and appends
// an entry of its own term at the same index, which reaches no one; (c) S3 crashes, S1 restarts,
// is elected again and replicates its old-term entry to S2, a majority. A correct leader does not
// count that as committed; one with the planted bug does. (d) S1 crashes, S3 restarts and is
// elected (its last term is higher) and overwrites the entry: Leader Completeness is broken.

async function figure8(
  seed: number,
  plantedBugs: PlantedBugs,
): Promise<{ violation: SafetyViolation | null }> {
  const hosted = hostedRaftCluster({
    seed,
    nodeCount: 3,
    clockDriftMax: 0.02,
    network: {
      delayMsMin: 1,
      delayMsMax: 2,
      dropRate: 0,
      duplicateRate: 0,
      reorderRate: 0,
      reorderDelayMaxMs: 0,
    },
    node: {
      raft: withPlantedBugs(
        {
          electionTicks: 10,
          heartbeatTicks: 1,
          preVote: false,
          checkQuorum: false,
          // One entry per message, so S2 can acknowledge the old entry before S1's no-op.
          messageBytesMax: 1,
          inflightMessagesMax: 1,
        },
        plantedBugs,
      ),
      tickMs: 10,
      fsyncMinMs: 0.5,
      fsyncMaxMs: 0.5,
      tornWriteRate: 0,
      snapshotEveryEntries: 1_000,
      readiesInFlightMax: 1,
    },
  });
  const { cluster, world } = hosted;
  const { network } = cluster;
  const ids = ["n1", "n2", "n3"];
  const isolate = (node: ClusterNode, cut: boolean): void => {
    for (const other of ids) {
      if (other === node.id) continue;
      if (cut) {
        network.cut(node.id, other);
        network.cut(other, node.id);
      } else {
        network.mend(node.id, other);
        network.mend(other, node.id);
      }
    }
  };
  // The hosts catch what their Ready loops throw: a violation also stops the run here.
  const failed = (): void => {
    const violation = hosted.violation();
    if (violation !== null) throw violation;
  };
  const runFor = async (ms: number): Promise<void> => {
    await world.runUntil(world.nowMs + ms, () => hosted.violation() !== null);
    failed();
  };
  const runUntil = async (done: () => boolean, limitMs = 5_000): Promise<void> => {
    await world.runUntil(world.nowMs + limitMs, () => done() || hosted.violation() !== null);
    failed();
    expect(done(), "scenario step did not complete in time").toBe(true);
  };
  const data = (text: string): Uint8Array => new TextEncoder().encode(text);
  try {
    cluster.start();
    await runUntil(() => cluster.leader() !== undefined);
    const s1 = cluster.leader()!;
    expect("error" in s1.propose(data("base"))).toBe(false);
    await runUntil(() => cluster.monitor.ledger.maxIndex >= 2);
    // (a) S1 appends X, which reaches no one.
    isolate(s1, true);
    // Two bytes: over messageBytesMax, so X travels alone and the no-op after it separately.
    const x = s1.propose(data("XX"));
    expect("error" in x).toBe(false);
    // Until X is on S1's disk: the proposal goes to the core, and the host takes it at its next
    // Ready (edited: a fixed 5 ms once sufficed, while the write of the commit index before it
    // made the host look again; now that no batch writes a commit index alone, the next tick does).
    const xIndex = (x as { index: number }).index;
    await runUntil(() => s1.storage.lastIndexOf("durable") >= xIndex);
    s1.crash();
    // (b) S3 is elected without X and appends its no-op at X's index; it reaches no one.
    await runUntil(() => cluster.leader() !== undefined);
    const s3 = cluster.leader()!;
    isolate(s3, true);
    await runFor(5);
    s3.crash();
    expect(s3.storage.lastIndexOf("durable")).toBe((x as { index: number }).index);
    // S3's disk holds its own entry at X's index, of a later term than X.
    const s3Disk = (s3 as HostedSimNode).disk;
    const xAt = x as { index: number; term: number };
    expect(s3Disk.durableTermAt(xAt.index)).toBeGreaterThan(xAt.term);
    // (c) S1 comes back, wins with S2's vote and replicates X to S2.
    isolate(s1, false);
    s1.restart();
    await runUntil(() => cluster.leader() === s1 && cluster.monitor.ledger.maxIndex >= xIndex);
    // (d) As soon as X counts as committed, S1 crashes, S3 returns and campaigns against S2.
    s1.crash();
    isolate(s3, false);
    isolate(s1, true);
    s3.restart();
    await runFor(2_000);
    return { violation: null };
  } catch (error) {
    if (error instanceof SafetyViolation) return { violation: error };
    throw error;
  }
}

describe("Figure 8: committing an entry from a previous term by counting replicas", () => {
  const seeds = Array.from({ length: 10 }, (_, i) => i + 1);

  it("is safe with the real rule (only current-term entries are committed by counting)", async () => {
    for (const seed of seeds) {
      expect((await figure8(seed, {})).violation, `seed ${seed}`).toBeNull();
    }
  });

  it("is caught by the checkers with the planted bug", async () => {
    for (const seed of seeds) {
      const { violation } = await figure8(seed, { commitPreviousTermByCounting: true });
      expect(violation, `seed ${seed}`).not.toBeNull();
      expect(violation!.property).toBe("leaderCompleteness");
    }
  });
});
