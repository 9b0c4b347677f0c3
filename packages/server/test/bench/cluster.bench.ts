// Proposals per second through a 3-node in-process RaftHost cluster on real LevelDB (fsync on),
// and the group-commit ratio (proposals per fsync on the leader).
// Run: npx vitest bench --run packages/server/test/bench/cluster.bench.ts
import { afterAll, beforeAll, bench, describe } from "vitest";
import { encodeCommand } from "../../src/lock/index.js";
import { MemoryNetwork, leaderOf, startNode, waitFor } from "../host/cluster.js";
import type { TestNode } from "../host/cluster.js";
import { tempDir } from "../storage/helpers.js";

const IDS = ["n1", "n2", "n3"];
const PROPOSALS_PER_ITERATION = 2000;

let nodes: TestNode[] = [];
let cleanup: () => Promise<void>;
let leader: TestNode;
let sequence = 0;
interface Totals {
  proposals: number;
  ms: number;
  leaderFsyncs: number;
  followerFsyncs: number;
}
const totalsByConcurrency = new Map<number, Totals>();

function fsyncs(): { leader: number; followers: number } {
  let followers = 0;
  for (const n of nodes) if (n !== leader) followers += n.host.status().storage.syncedBatches;
  return { leader: leader.host.status().storage.syncedBatches, followers };
}

async function run(concurrency: number): Promise<void> {
  const before = fsyncs();
  const started = performance.now();
  let remaining = PROPOSALS_PER_ITERATION;
  const worker = async () => {
    while (remaining > 0) {
      remaining--;
      const n = sequence++;
      await leader.host.propose(
        encodeCommand({
          type: "acquire",
          key: `k${n % 10_000}`,
          value: `v${n}`,
          ttlMs: 60_000,
          waitMs: 0,
          lockDelayMs: 0,
          requestId: n,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const after = fsyncs();
  let totals = totalsByConcurrency.get(concurrency);
  if (totals === undefined) {
    totals = { proposals: 0, ms: 0, leaderFsyncs: 0, followerFsyncs: 0 };
    totalsByConcurrency.set(concurrency, totals);
  }
  totals.proposals += PROPOSALS_PER_ITERATION;
  totals.ms += performance.now() - started;
  totals.leaderFsyncs += after.leader - before.leader;
  totals.followerFsyncs += after.followers - before.followers;
}

beforeAll(async () => {
  const tmp = await tempDir("bench-cluster");
  cleanup = tmp.cleanup;
  const network = new MemoryNetwork();
  nodes = await Promise.all(IDS.map((id) => startNode(network, id, `${tmp.dir}/${id}`, IDS)));
  await waitFor("a leader", () => leaderOf(nodes) !== undefined);
  leader = leaderOf(nodes) as TestNode;
});

afterAll(async () => {
  for (const [concurrency, totals] of totalsByConcurrency) {
    const perSecond = (totals.proposals / totals.ms) * 1000;
    console.log(
      JSON.stringify({
        concurrency,
        proposals: totals.proposals,
        proposalsPerSecond: Math.round(perSecond),
        leaderFsyncsPerSecond: Math.round((totals.leaderFsyncs / totals.ms) * 1000),
        proposalsPerLeaderFsync: +(totals.proposals / totals.leaderFsyncs).toFixed(1),
        followerFsyncsPerSecondEach: Math.round((totals.followerFsyncs / 2 / totals.ms) * 1000),
      }),
    );
  }
  await Promise.all(nodes.map((n) => n.host.stop()));
  await cleanup();
});

describe("3-node RaftHost cluster, LevelDB, fsync on", () => {
  for (const concurrency of [1, 64]) {
    bench(
      `${PROPOSALS_PER_ITERATION} proposals, ${concurrency} in flight`,
      () => run(concurrency),
      { time: 3000, iterations: 2, warmupIterations: 0 },
    );
  }
});
