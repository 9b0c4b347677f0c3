// What the scale scenario watches on every node once a second: role, term, leader, applied index,
// Raft log, event-loop lag (from /status) and resident memory (from /proc), and what it reads from
// the node logs at the end (compactions, snapshot installs, elections won).
import { readFile } from "node:fs/promises";
import type { LocalCluster } from "../local-cluster.js";

export interface NodeObservation {
  id: string;
  /** Null when the process is not running or does not answer. */
  role: string | null;
  term: number | null;
  leader: string | null;
  appliedIndex: number | null;
  snapshotIndex: number | null;
  rssMiB: number | null;
  /** Longest event-loop stall in the last 10-20 s, and since the process started. */
  lagMaxMs: number | null;
  lagMaxMsSinceStart: number | null;
}

export interface WatchSample {
  /** Seconds since the scenario started. */
  atS: number;
  phase: string;
  /** Locks taken so far. */
  locks: number;
  nodes: NodeObservation[];
}

/** Resident set size of process `pid` in MiB (VmRSS), or null off Linux or once it is gone. */
export async function rssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match === null ? null : Number(match[1]) / 1024;
  } catch {
    return null;
  }
}

export async function observeNodes(cluster: LocalCluster): Promise<NodeObservation[]> {
  return Promise.all(
    cluster.nodes.map(async (node): Promise<NodeObservation> => {
      const [status, rss] = await Promise.all([
        node.process === null ? null : cluster.status(node.id, 2_000),
        rssMiB(node.process?.pid),
      ]);
      return {
        id: node.id,
        role: status?.role ?? null,
        term: status?.term ?? null,
        leader: status?.leader ?? null,
        appliedIndex: status?.appliedIndex ?? null,
        snapshotIndex: status?.raftLog?.snapshotIndex ?? null,
        rssMiB: rss,
        lagMaxMs: status?.eventLoopLag?.maxMs ?? null,
        lagMaxMsSinceStart: status?.eventLoopLag?.maxMsSinceStart ?? null,
      };
    }),
  );
}

export interface LogEvent {
  node: string;
  /** Seconds since the scenario started (from the log line's time). */
  atS: number;
  kind: "compaction" | "snapshot-installed" | "became-leader";
  durationMs?: number;
  index?: number;
  snapshotBytes?: number;
  term?: number;
}

/**
 * The events of interest in the JSON-lines node logs: "log compacted" (with its duration),
 * "snapshot installed" and "role changed" to leader. Lines that are not JSON are skipped.
 */
export async function readLogEvents(
  cluster: LocalCluster,
  startedAtEpochMs: number,
): Promise<LogEvent[]> {
  const events: LogEvent[] = [];
  for (const node of cluster.nodes) {
    let text: string;
    try {
      text = await readFile(node.logFile, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const time = typeof record.time === "number" ? record.time : null;
      if (time === null || time < startedAtEpochMs) continue;
      const atS = (time - startedAtEpochMs) / 1000;
      const num = (value: unknown) => (typeof value === "number" ? value : undefined);
      if (record.msg === "log compacted") {
        events.push({
          node: node.id,
          atS,
          kind: "compaction",
          durationMs: num(record.durationMs),
          index: num(record.index),
          snapshotBytes: num(record.snapshotBytes),
        });
      } else if (record.msg === "snapshot installed") {
        events.push({
          node: node.id,
          atS,
          kind: "snapshot-installed",
          index: num(record.index),
          snapshotBytes: num(record.snapshotBytes),
        });
      } else if (record.msg === "role changed" && record.role === "leader") {
        events.push({ node: node.id, atS, kind: "became-leader", term: num(record.term) });
      }
    }
  }
  return events.sort((a, b) => a.atS - b.atS);
}
