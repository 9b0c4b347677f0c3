// What the bench reads from each server at the edges of a measured window: its CPU time (from
// /proc) and its synced writes (from /metrics), to say where the time went.
import type { LocalCluster } from "../local-cluster.js";
import { mainThreadCpuMs, processCpuMs } from "./stats.js";

export interface NodeSample {
  id: string;
  role: string | null;
  cpuMs: number | null;
  /** Of cpuMs, the main thread's (the event loop's); the rest is the pool's and V8's threads. */
  mainThreadCpuMs: number | null;
  fsyncs: number | null;
  fsyncSeconds: number | null;
  /** Frames and Raft messages written to peers (all peers summed). */
  peerFrames: number | null;
  peerMessages: number | null;
  /** Times a client-port limit acted (dlock_client_limited_total, every limit). */
  clientLimited: number | null;
}

export interface NodeUsage {
  id: string;
  role: string | null;
  /** CPU time used in the window as a percentage of one core. */
  cpuPercent: number | null;
  /** Of cpuPercent, the main thread's (the event loop's). */
  mainThreadCpuPercent: number | null;
  fsyncsPerSecond: number | null;
  /** Mean duration of this node's synced writes in the window (milliseconds). */
  fsyncMeanMs: number | null;
  /** Frames written to peers per second (each one socket write), and Raft messages in them. */
  peerFramesPerSecond: number | null;
  peerMessagesPerSecond: number | null;
  /** Times a client-port limit acted in the window. */
  clientLimited: number | null;
}

export async function sampleNodes(cluster: LocalCluster): Promise<NodeSample[]> {
  return Promise.all(
    cluster.nodes.map(async (node): Promise<NodeSample> => {
      const pid = node.process?.pid;
      const [status, fsync] = await Promise.all([
        cluster.status(node.id),
        readFsyncs(node.httpAddress),
      ]);
      return {
        id: node.id,
        role: status?.role ?? null,
        cpuMs: pid === undefined ? null : processCpuMs(pid),
        mainThreadCpuMs: pid === undefined ? null : mainThreadCpuMs(pid),
        fsyncs: fsync?.count ?? null,
        fsyncSeconds: fsync?.seconds ?? null,
        peerFrames: fsync?.peerFrames ?? null,
        peerMessages: fsync?.peerMessages ?? null,
        clientLimited: fsync?.clientLimited ?? null,
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
    const mainThreadCpu = delta(start?.mainThreadCpuMs, end.mainThreadCpuMs);
    const fsyncs = delta(start?.fsyncs, end.fsyncs);
    const fsyncSeconds = delta(start?.fsyncSeconds, end.fsyncSeconds);
    const perSecond = (value: number | null) => (value === null ? null : (value * 1000) / windowMs);
    return {
      id: end.id,
      role: end.role,
      cpuPercent: cpu === null ? null : (cpu * 100) / windowMs,
      mainThreadCpuPercent: mainThreadCpu === null ? null : (mainThreadCpu * 100) / windowMs,
      fsyncsPerSecond: fsyncs === null ? null : (fsyncs * 1000) / windowMs,
      fsyncMeanMs:
        fsyncs === null || fsyncSeconds === null || fsyncs === 0
          ? null
          : (fsyncSeconds * 1000) / fsyncs,
      peerFramesPerSecond: perSecond(delta(start?.peerFrames, end.peerFrames)),
      peerMessagesPerSecond: perSecond(delta(start?.peerMessages, end.peerMessages)),
      clientLimited: delta(start?.clientLimited, end.clientLimited),
    };
  });
}

async function readFsyncs(httpAddress: string): Promise<{
  count: number;
  seconds: number;
  peerFrames: number;
  peerMessages: number;
  clientLimited: number;
} | null> {
  try {
    const response = await fetch(`http://${httpAddress}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return null;
    const lines = (await response.text()).split("\n");
    const sample = (name: string) => {
      const line = lines.find((l) => l.startsWith(name));
      return line === undefined ? null : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    /** The sum of a labelled counter over its labels (every peer). */
    const total = (name: string) =>
      lines
        .filter((l) => l.startsWith(`${name}{`))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    const count = sample("dlock_storage_fsync_duration_seconds_count");
    const seconds = sample("dlock_storage_fsync_duration_seconds_sum");
    return count === null || seconds === null
      ? null
      : {
          count,
          seconds,
          peerFrames: total("dlock_peer_frames_sent_total"),
          peerMessages: total("dlock_peer_messages_sent_total"),
          clientLimited: total("dlock_client_limited_total"),
        };
  } catch {
    return null;
  }
}
