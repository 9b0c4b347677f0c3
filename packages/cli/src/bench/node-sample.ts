// What the bench reads from each server at the edges of a measured window: its CPU time (from
// /proc) and its synced writes (from /metrics), to say where the time went.
import type { LocalCluster } from "../local-cluster.js";
import { processCpuMs } from "./stats.js";

export interface NodeSample {
  id: string;
  role: string | null;
  cpuMs: number | null;
  fsyncs: number | null;
}

export interface NodeUsage {
  id: string;
  role: string | null;
  /** CPU time used in the window as a percentage of one core. */
  cpuPercent: number | null;
  fsyncsPerSecond: number | null;
}

export async function sampleNodes(cluster: LocalCluster): Promise<NodeSample[]> {
  return Promise.all(
    cluster.nodes.map(async (node): Promise<NodeSample> => {
      const pid = node.process?.pid;
      const [status, fsyncs] = await Promise.all([
        cluster.status(node.id),
        readFsyncs(node.httpAddress),
      ]);
      return {
        id: node.id,
        role: status?.role ?? null,
        cpuMs: pid === undefined ? null : processCpuMs(pid),
        fsyncs,
      };
    }),
  );
}

export function usageBetween(
  before: NodeSample[],
  after: NodeSample[],
  windowMs: number,
): NodeUsage[] {
  return after.map((end) => {
    const start = before.find((s) => s.id === end.id);
    const delta = (a: number | null | undefined, b: number | null) =>
      a === null || a === undefined || b === null ? null : b - a;
    const cpu = delta(start?.cpuMs, end.cpuMs);
    const fsyncs = delta(start?.fsyncs, end.fsyncs);
    return {
      id: end.id,
      role: end.role,
      cpuPercent: cpu === null ? null : (cpu * 100) / windowMs,
      fsyncsPerSecond: fsyncs === null ? null : (fsyncs * 1000) / windowMs,
    };
  });
}

async function readFsyncs(httpAddress: string): Promise<number | null> {
  try {
    const response = await fetch(`http://${httpAddress}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return null;
    const text = await response.text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith("dlock_storage_fsync_duration_seconds_count"));
    return line === undefined ? null : Number(line.slice(line.lastIndexOf(" ") + 1));
  } catch {
    return null;
  }
}
