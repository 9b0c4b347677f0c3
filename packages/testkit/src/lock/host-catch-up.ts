import type { Message, NodeId } from "@dlock/raft";
import type { HostPlantedBugs } from "@dlock/server/internal";
import { encodeCommand } from "@dlock/server/lock";
import { Hasher } from "../hash.js";
import { SimNetwork } from "../network.js";
import type { NetworkFaults } from "../network.js";
import { SimWorld } from "../world.js";
import { AsyncWorld } from "./async-world.js";
import { SimHostNode } from "./sim-host-node.js";
import type { SimHostNodeOptions } from "./sim-host-node.js";

/**
 * A catch-up schedule for the production RaftHost: three servers under steady lock traffic; one
 * follower is cut off long enough for the leader to compact past its log, then the network
 * heals and the follower must catch up (through a snapshot sent in chunks) within a bound of
 * virtual time. The bound is generous for a correct host; a host that keeps restarting the
 * transfer never meets it.
 */
export interface HostCatchUpOptions {
  seed: number;
  plantedBugs?: HostPlantedBugs;
  /** Virtual ms between two proposals of the workload. */
  writeEveryMs?: number;
  /** How long the follower is cut off. */
  partitionMs?: number;
  /** The follower must have applied everything committed at the heal within this long. */
  catchUpBoundMs?: number;
}

export interface HostCatchUpResult {
  seed: number;
  lagging: NodeId | null;
  /** Virtual ms from the heal until the follower caught up (null: not within the bound). */
  catchUpMs: number | null;
  /** Snapshots the leader took (compactions) and the follower installed. */
  compactions: number;
  snapshotsInstalled: number;
  /** Every node's lock table is the same once traffic stops (null when it is). */
  divergence: string | null;
  traceHash: number;
  virtualMs: number;
}

export const HOST_CATCH_UP_DEFAULTS = {
  writeEveryMs: 4,
  partitionMs: 3_000,
  catchUpBoundMs: 4_000,
} as const;

const NETWORK: NetworkFaults = {
  delayMsMin: 1,
  delayMsMax: 4,
  dropRate: 0.01,
  duplicateRate: 0.01,
  reorderRate: 0.02,
  reorderDelayMaxMs: 5,
};
const KEYS = 400;
const POLL_MS = 10;
const LEADER_WAIT_MS = 5_000;
const SETTLE_MS = 2_000;

/** RaftHost settings of the simulated servers: 10 ms ticks, elections after 100 ms. */
const CLUSTER_HOST = { tickMs: 10, electionTicks: 10, heartbeatTicks: 1, compactionBytes: 0 };

export interface SimHostClusterOptions {
  seed: number;
  network: NetworkFaults;
  tornWriteRate: number;
  host: SimHostNodeOptions["host"];
  plantedBugs?: HostPlantedBugs;
}

/** Three servers n1..n3 running RaftHost in one simulated world (not started yet). */
export function simHostCluster(options: SimHostClusterOptions) {
  const sim = new SimWorld(options.seed);
  const world = new AsyncWorld(sim);
  const network = new SimNetwork<Message>(sim, sim.random.fork(), options.network);
  const voters = ["n1", "n2", "n3"];
  const nodes = voters.map((id) => {
    const random = sim.random.fork();
    return new SimHostNode({
      id,
      world,
      network,
      random,
      voters,
      limits: { electionTimeoutMs: CLUSTER_HOST.tickMs * CLUSTER_HOST.electionTicks },
      clockRate: 1 + random.between(-0.01, 0.01),
      clockOriginMs: random.between(0, 1e6),
      fsyncMsMin: 0.5,
      fsyncMsMax: 3,
      tornWriteRate: options.tornWriteRate,
      host: { ...CLUSTER_HOST, ...options.host },
      plantedBugs: options.plantedBugs,
    });
  });
  return { sim, world, network, nodes };
}

export async function runHostCatchUp(options: HostCatchUpOptions): Promise<HostCatchUpResult> {
  const { seed } = options;
  const writeEveryMs = options.writeEveryMs ?? HOST_CATCH_UP_DEFAULTS.writeEveryMs;
  const partitionMs = options.partitionMs ?? HOST_CATCH_UP_DEFAULTS.partitionMs;
  const boundMs = options.catchUpBoundMs ?? HOST_CATCH_UP_DEFAULTS.catchUpBoundMs;
  const { sim, world, network, nodes } = simHostCluster({
    seed,
    network: NETWORK,
    tornWriteRate: 0.3,
    host: { ...CLUSTER_HOST, compactionEntries: 400, raft: { snapshotChunkBytes: 1024 } },
    plantedBugs: options.plantedBugs,
  });
  let compactions = 0;
  let snapshotsInstalled = 0;
  for (const node of nodes) {
    node.start();
  }
  const leader = (): SimHostNode | undefined =>
    nodes.find((node) => node.raftHost !== null && node.raftHost.status().role === "leader");
  const applied = (node: SimHostNode): number => node.table?.appliedIndex ?? 0;
  const runFor = async (ms: number, stop?: () => boolean): Promise<void> => {
    const until = world.nowMs + ms;
    while (world.nowMs < until && !(stop?.() ?? false)) {
      await world.runUntil(Math.min(until, world.nowMs + POLL_MS), stop);
    }
  };

  await runFor(LEADER_WAIT_MS, () => leader() !== undefined);
  let writing = true;
  let written = 0;
  const write = (): void => {
    if (!writing) return;
    const host = leader()?.raftHost;
    if (host !== undefined && host !== null) {
      const n = written++;
      const command = {
        type: "acquire" as const,
        key: `k${n % KEYS}`,
        value: `c${n}`,
        ttlMs: 600_000,
        waitMs: 0,
        lockDelayMs: 0,
        requestId: n + 1,
      };
      world.touch();
      host.propose(encodeCommand(command)).catch(() => undefined);
    }
    sim.after(writeEveryMs, write);
  };
  sim.after(0, write);

  const first = leader();
  const lagging = nodes.find((node) => node !== first && node.status === "running") ?? null;
  let catchUpMs: number | null = null;
  if (first !== undefined && lagging !== null) {
    for (const node of nodes) {
      if (node === lagging) continue;
      network.cut(node.name, lagging.name);
      network.cut(lagging.name, node.name);
    }
    await runFor(partitionMs);
    network.mendAll();
    const healMs = world.nowMs;
    const target = Math.max(...nodes.filter((n) => n !== lagging).map(applied));
    await runFor(boundMs, () => applied(lagging) >= target);
    if (applied(lagging) >= target) catchUpMs = world.nowMs - healMs;
  }
  writing = false;
  await runFor(SETTLE_MS);
  for (const node of nodes) {
    const stats = node.raftHost?.status().storage;
    compactions += stats?.snapshotsTaken ?? 0;
    snapshotsInstalled += stats?.snapshotsInstalled ?? 0;
  }
  return {
    seed,
    lagging: lagging?.name ?? null,
    catchUpMs,
    compactions,
    snapshotsInstalled,
    divergence: catchUpMs === null ? null : divergenceOf(nodes),
    traceHash: sim.trace.int(sim.eventCount).int(written).digest(),
    virtualMs: world.nowMs,
  };
}

/** Every table at the same applied index holds the same records. */
function divergenceOf(nodes: readonly SimHostNode[]): string | null {
  let reference: { name: string; applied: number; digest: number } | null = null;
  for (const node of nodes) {
    const table = node.table;
    if (table === null) continue;
    const digest = new Hasher(0x10c).bytes(table.snapshot()).digest();
    if (reference === null) {
      reference = { name: node.name, applied: table.appliedIndex, digest };
      continue;
    }
    if (table.appliedIndex !== reference.applied) {
      return `${node.name} applied ${table.appliedIndex}, ${reference.name} ${reference.applied} after traffic stopped`;
    }
    if (digest !== reference.digest) {
      return `${node.name} and ${reference.name} hold different tables at ${table.appliedIndex}`;
    }
  }
  return null;
}
