import type { PlantedBugs } from "@dlock/raft/internal";
import { withPlantedBugs } from "@dlock/raft/internal";
import { describe, expect, it } from "vitest";
import { SafetyViolation } from "../src/checkers/violation.js";
import { SimCluster } from "../src/sim-cluster.js";
import type { ClusterNode } from "../src/cluster-node.js";

// The Raft paper's Figure 8, driven step by step on the simulated cluster with the real core:
// (a) S1 leads and appends an entry that reaches no one; (b) S1 crashes, S3 is elected and appends
// an entry of its own term at the same index, which reaches no one; (c) S3 crashes, S1 restarts,
// is elected again and replicates its old-term entry to S2, a majority. A correct leader does not
// count that as committed; one with the planted bug does. (d) S1 crashes, S3 restarts and is
// elected (its last term is higher) and overwrites the entry: Leader Completeness is broken.

function figure8(seed: number, plantedBugs: PlantedBugs): { violation: SafetyViolation | null } {
  const cluster = new SimCluster({
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
  const { world, network } = cluster;
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
  const runUntil = (done: () => boolean, limitMs = 5_000): void => {
    world.runUntil(world.nowMs + limitMs, done);
    expect(done(), "scenario step did not complete in time").toBe(true);
  };
  const data = (text: string): Uint8Array => new TextEncoder().encode(text);
  try {
    cluster.start();
    runUntil(() => cluster.leader() !== undefined);
    const s1 = cluster.leader()!;
    expect("error" in s1.propose(data("base"))).toBe(false);
    runUntil(() => cluster.monitor.ledger.maxIndex >= 2);
    // (a) S1 appends X, which reaches no one.
    isolate(s1, true);
    // Two bytes: over messageBytesMax, so X travels alone and the no-op after it separately.
    const x = s1.propose(data("XX"));
    expect("error" in x).toBe(false);
    world.runUntil(world.nowMs + 5);
    s1.crash();
    // (b) S3 is elected without X and appends its no-op at X's index; it reaches no one.
    runUntil(() => cluster.leader() !== undefined);
    const s3 = cluster.leader()!;
    isolate(s3, true);
    world.runUntil(world.nowMs + 5);
    s3.crash();
    expect(s3.storage.lastIndexOf("durable")).toBe((x as { index: number }).index);
    expect(s3.storage.term(s3.storage.lastIndexOf())).toBeGreaterThan((x as { term: number }).term);
    // (c) S1 comes back, wins with S2's vote and replicates X to S2.
    isolate(s1, false);
    s1.restart();
    const xIndex = (x as { index: number }).index;
    runUntil(() => cluster.leader() === s1 && cluster.monitor.ledger.maxIndex >= xIndex);
    // (d) As soon as X counts as committed, S1 crashes, S3 returns and campaigns against S2.
    s1.crash();
    isolate(s3, false);
    isolate(s1, true);
    s3.restart();
    world.runUntil(world.nowMs + 2_000);
    return { violation: null };
  } catch (error) {
    if (error instanceof SafetyViolation) return { violation: error };
    throw error;
  }
}

describe("Figure 8: committing an entry from a previous term by counting replicas", () => {
  const seeds = Array.from({ length: 10 }, (_, i) => i + 1);

  it("is safe with the real rule (only current-term entries are committed by counting)", () => {
    for (const seed of seeds) expect(figure8(seed, {}).violation, `seed ${seed}`).toBeNull();
  });

  it("is caught by the checkers with the planted bug", () => {
    for (const seed of seeds) {
      const { violation } = figure8(seed, { commitPreviousTermByCounting: true });
      expect(violation, `seed ${seed}`).not.toBeNull();
      expect(violation!.property).toBe("leaderCompleteness");
    }
  });
});
