// Watches a LocalCluster's leadership by polling every node's /status: how long, at most, no
// node said it led (as seen from outside, at the polling resolution).
import type { LocalCluster } from "@dlock/tools";

export interface LeaderGap {
  fromMs: number;
  toMs: number;
  durationMs: number;
}

export class LeaderWatch {
  readonly gaps: LeaderGap[] = [];
  samples = 0;
  private gapStart: number | null = null;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: LocalCluster,
    private readonly intervalMs = 20,
  ) {
    this.done = this.loop();
  }

  /** Stops polling; an open gap ends now. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    if (this.gapStart !== null) this.closeGap(performance.now());
  }

  get longestMs(): number {
    return Math.max(0, ...this.gaps.map((gap) => gap.durationMs));
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const at = performance.now();
      const running = this.cluster.nodes.filter((node) => node.process !== null);
      const statuses = await Promise.all(running.map((node) => this.cluster.status(node.id, 500)));
      const led = statuses.some((status) => status?.role === "leader" && status.healthy !== false);
      this.samples++;
      if (!led && this.gapStart === null) this.gapStart = at;
      if (led && this.gapStart !== null) this.closeGap(at);
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  private closeGap(at: number): void {
    const fromMs = this.gapStart as number;
    this.gaps.push({ fromMs, toMs: at, durationMs: at - fromMs });
    this.gapStart = null;
  }
}

/**
 * The gaps without a leader as the nodes logged them ("role changed" lines carry the wall clock
 * of their process; all run on this machine): from the moment the last leader stopped leading
 * (stepped down or its process stopped) to the moment some node became leader.
 */
export async function leaderGapsFromLogs(logFiles: readonly string[]): Promise<LeaderGap[]> {
  const { readFile } = await import("node:fs/promises");
  const events: Array<{ time: number; node: string; leading: boolean }> = [];
  for (const file of logFiles) {
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      if (!line.startsWith("{")) continue;
      let record: { time?: number; node?: string; msg?: string; role?: string };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        continue;
      }
      if (record.time === undefined || record.node === undefined) continue;
      if (record.msg === "role changed") {
        events.push({ time: record.time, node: record.node, leading: record.role === "leader" });
      } else if (record.msg === "dlock server stopped" || record.msg === "raft host stopped") {
        events.push({ time: record.time, node: record.node, leading: false });
      }
    }
  }
  events.sort((a, b) => a.time - b.time);
  const leading = new Set<string>();
  const gaps: LeaderGap[] = [];
  let gapStart: number | null = null;
  let seenLeader = false;
  for (const event of events) {
    if (event.leading) leading.add(event.node);
    else leading.delete(event.node);
    if (leading.size > 0) {
      seenLeader = true;
      if (gapStart !== null) {
        gaps.push({ fromMs: gapStart, toMs: event.time, durationMs: event.time - gapStart });
        gapStart = null;
      }
    } else if (seenLeader && gapStart === null) {
      gapStart = event.time;
    }
  }
  return gaps;
}
