// What a load test asserts about the cluster: the leader and term before and after (no election
// happened), and each node's event-loop lag as it reports it on /status.
import type { LocalCluster } from "./cluster.js";

export interface Leadership {
  leader: string;
  /** Every running node's term, by id. */
  terms: Record<string, number>;
}

export async function leadership(cluster: LocalCluster): Promise<Leadership> {
  const leader = await cluster.waitForLeader(30_000);
  const terms: Record<string, number> = {};
  for (const node of cluster.nodes) {
    if (node.process === null) continue;
    const status = await cluster.status(node.id, 10_000);
    if (status === null) throw new Error(`${node.id} did not answer /status`);
    terms[node.id] = status.term;
  }
  return { leader, terms };
}

export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  maxMsSinceStart: number;
}

/** Each running node's event-loop lag as its /status reports it; null if it did not answer. */
export async function eventLoopLags(
  cluster: LocalCluster,
): Promise<Record<string, EventLoopLag | null>> {
  const lags: Record<string, EventLoopLag | null> = {};
  for (const node of cluster.nodes) {
    if (node.process === null) continue;
    try {
      const response = await fetch(`http://${node.httpAddress}/status`, {
        signal: AbortSignal.timeout(10_000),
      });
      const status = (await response.json()) as { eventLoopLag?: EventLoopLag };
      lags[node.id] = status.eventLoopLag ?? null;
    } catch {
      lags[node.id] = null; // Reported as such: a node too busy to answer is a finding.
    }
  }
  return lags;
}

/** One line per node for the test log (the figures the report quotes). */
export function formatLags(label: string, lags: Record<string, EventLoopLag | null>): string {
  const parts = Object.entries(lags).map(([id, lag]) =>
    lag === null
      ? `${id} no answer within 10 s`
      : `${id} p99 ${lag.p99Ms} ms, max ${lag.maxMs} ms (since start ${lag.maxMsSinceStart} ms)`,
  );
  return `${label} event-loop lag: ${parts.join("; ")}\n`;
}
