// Kill-the-leader rounds on a real three-node cluster under client load, measuring the catch-up
// of the restarted node: bytes the peers sent it against the log it lacked, peak RSS per node,
// the time from the kill to the next grant and the longest gap between grants. Used by the
// catchup-measure script (10 rounds) and by the CI test (a few rounds).
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { Locker } from "@dlock/client";
import type { LocalCluster, LocalNodeStatus } from "./local-cluster.js";
import { pollUntil } from "./poll-until.js";

export interface CatchUpRoundsOptions {
  cluster: LocalCluster;
  clusterId: string;
  rounds: number;
  /** Clients running acquire/release loops the whole time. */
  clients?: number;
  /** How long the killed leader stays down (the log it will lack grows meanwhile). */
  downMs?: number;
  /** Load before the first kill, so the log is not empty. */
  warmupMs?: number;
  /** Upper bound for one wait (a leader, a catch-up); generous: a loaded 2-core machine. */
  waitMs?: number;
  say?: (line: string) => void;
}

export const CATCH_UP_ROUND_DEFAULTS = {
  clients: 8,
  downMs: 3_000,
  warmupMs: 3_000,
  waitMs: 120_000,
} as const;

export interface CatchUpRound {
  round: number;
  killed: string;
  /** Leader after the kill (the one that caught the restarted node up). */
  leader: string;
  /** Terms the cluster went through from the kill until the catch-up (1 = a single election). */
  elections: number;
  /** Entries the restarted node lacked: its last commit before the kill to its applied at the end. */
  lackedEntries: number;
  /** lackedEntries × the leader's average stored entry size. */
  lackedBytes: number;
  /** Bytes every peer sent the restarted node from the kill until it caught up. */
  sentToRestartedBytes: number;
  /** Bytes each node sent to all peers over the same span (the restarted one since it started). */
  sentBytesPerNode: Record<string, number>;
  /** Peak resident set per node (VmHWM), null where /proc is not available. */
  rssPeakBytes: Record<string, number | null>;
  /** Kill → first grant of an acquire sent after it (ms), or null if none. */
  killToGrantMs: number | null;
  /** The longest time without any grant, from the last grant before the kill to the catch-up. */
  longestOutageMs: number;
  /** Kill → the restarted node applied what the leader had committed when it came back. */
  catchUpMs: number;
}

export interface CatchUpReport {
  rounds: CatchUpRound[];
  grants: number;
  /** Client operations that failed (with their error), and fencing-token regressions. */
  failures: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sum of dlock_peer_sent_bytes_total per peer label, from one node's /metrics (null if down). */
async function sentBytesByPeer(
  cluster: LocalCluster,
  id: string,
): Promise<Map<string, number> | null> {
  try {
    const response = await fetch(`http://${cluster.node(id).httpAddress}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return null;
    const text = await response.text();
    const sent = new Map<string, number>();
    for (const [, peer = "", value] of text.matchAll(
      /^dlock_peer_sent_bytes_total\{peer="([^"]+)"[^}]*\} (\S+)$/gm,
    )) {
      sent.set(peer, Number(value));
    }
    return sent;
  } catch {
    return null;
  }
}

async function peakRssBytes(cluster: LocalCluster, id: string): Promise<number | null> {
  const pid = cluster.node(id).process?.pid;
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** Clients that acquire and release their own keys in a loop, recording every grant's time. */
class GrantLoad {
  /** When each grant arrived, in order. */
  readonly grantTimes: number[] = [];
  /** When the acquire behind each grant was sent (same order). */
  readonly requestTimes: number[] = [];
  readonly failures: string[] = [];
  private readonly lockers: Locker[] = [];
  private readonly running: Promise<void>[] = [];
  private readonly lastToken = new Map<string, number>();
  private stopping = false;

  constructor(endpoints: string[], clusterId: string, clients: number) {
    for (let c = 0; c < clients; c++) {
      const locker = new Locker({ endpoints, clusterId });
      this.lockers.push(locker);
      this.running.push(this.loop(locker, c));
    }
  }

  private async loop(locker: Locker, client: number): Promise<void> {
    for (let i = 0; !this.stopping; i++) {
      const key = `catchup/${client}/${i % 4}`;
      try {
        const sentAt = performance.now();
        const grant = await locker.acquire(key, `client-${client}`, { ttl: "10s" });
        this.grantTimes.push(performance.now());
        this.requestTimes.push(sentAt);
        const previous = this.lastToken.get(key) ?? 0;
        if (grant.fencingToken <= previous) {
          this.failures.push(`${key}: token ${grant.fencingToken} after ${previous}`);
        }
        this.lastToken.set(key, grant.fencingToken);
        await locker.release(key, `client-${client}`, { token: grant.fencingToken });
      } catch (error) {
        if (this.stopping) return;
        this.failures.push(`${key}: ${(error as Error).message}`);
        await sleep(100);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
    await Promise.all(this.lockers.map((locker) => locker.close()));
  }
}

function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  return pollUntil(probe, {
    timeoutMs,
    intervalMs: 50,
    timedOut: () => new Error(`timed out after ${timeoutMs} ms: ${what}`),
  });
}

export async function runCatchUpRounds(options: CatchUpRoundsOptions): Promise<CatchUpReport> {
  const settings = { ...CATCH_UP_ROUND_DEFAULTS, ...definedOnly(options) };
  const { cluster } = options;
  const { waitMs } = settings;
  const say = options.say ?? (() => undefined);
  const ids = cluster.nodes.map((n) => n.id);
  await cluster.waitForLeader(waitMs);
  await cluster.waitForReady(waitMs);
  const load = new GrantLoad(cluster.endpoints(), options.clusterId, settings.clients);
  const rounds: CatchUpRound[] = [];
  try {
    await sleep(settings.warmupMs);
    for (let round = 1; round <= options.rounds; round++) {
      const killed = await cluster.waitForLeader(waitMs);
      await cluster.waitForReady(waitMs);
      const before = (await cluster.status(killed)) as LocalNodeStatus;
      const sentBefore = new Map<string, Map<string, number>>();
      for (const id of ids) sentBefore.set(id, (await sentBytesByPeer(cluster, id)) ?? new Map());
      const grantsBefore = load.grantTimes.length;
      const lastGrantBeforeKill = load.grantTimes.at(-1) ?? performance.now();
      const killAt = performance.now();
      await cluster.kill(killed, "SIGKILL");
      await sleep(settings.downMs);
      cluster.restart(killed);
      // Caught up: the restarted node applied what the leader had committed once it was back.
      const { leader, target } = await until("the restarted node answers", waitMs, async () => {
        if ((await cluster.status(killed)) === null) return null;
        const survivors = ids.filter((id) => id !== killed);
        const statuses = await Promise.all(survivors.map((id) => cluster.status(id)));
        const leading = statuses.find((s) => s?.role === "leader");
        return leading ? { leader: leading.nodeId, target: leading.commitIndex } : null;
      });
      const caughtUp = await until(`${killed} catches up to ${target}`, waitMs, async () => {
        const status = await cluster.status(killed);
        return status !== null && status.appliedIndex >= target ? status : null;
      });
      const catchUpMs = performance.now() - killAt;
      const leaderStatus = (await cluster.status(leader)) ?? caughtUp;
      let sentToRestartedBytes = 0;
      const sentBytesPerNode: Record<string, number> = {};
      for (const id of ids) {
        const now = (await sentBytesByPeer(cluster, id)) ?? new Map<string, number>();
        const then = id === killed ? new Map<string, number>() : sentBefore.get(id)!;
        let total = 0;
        for (const [peer, bytes] of now) {
          const delta = bytes - (then.get(peer) ?? 0);
          total += delta;
          if (peer === killed) sentToRestartedBytes += delta;
        }
        sentBytesPerNode[id] = total;
      }
      const rssPeakBytes: Record<string, number | null> = {};
      for (const id of ids) rssPeakBytes[id] = await peakRssBytes(cluster, id);
      const log = leaderStatus.raftLog;
      const entryBytes = log !== undefined && log.entries > 0 ? log.bytes / log.entries : 0;
      const lackedEntries = Math.max(0, caughtUp.appliedIndex - before.commitIndex);
      const grants = load.grantTimes.slice(grantsBefore);
      // The first grant asked for after the kill: one already on its way from the old leader
      // says nothing about the failover.
      const requests = load.requestTimes.slice(grantsBefore);
      const firstGrant = grants
        .filter((_, i) => (requests[i] ?? -Infinity) > killAt)
        .sort((a, b) => a - b)[0];
      let longestOutageMs = 0;
      let previous = lastGrantBeforeKill;
      for (const t of [...grants, performance.now()]) {
        longestOutageMs = Math.max(longestOutageMs, t - previous);
        previous = t;
      }
      const result: CatchUpRound = {
        round,
        killed,
        leader,
        elections: leaderStatus.term - before.term,
        lackedEntries,
        lackedBytes: Math.round(lackedEntries * entryBytes),
        sentToRestartedBytes,
        sentBytesPerNode,
        rssPeakBytes,
        killToGrantMs: firstGrant === undefined ? null : firstGrant - killAt,
        longestOutageMs,
        catchUpMs,
      };
      rounds.push(result);
      say(formatRound(result));
    }
  } finally {
    await load.stop();
  }
  return { rounds, grants: load.grantTimes.length, failures: load.failures };
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);

export function formatRound(r: CatchUpRound): string {
  const sent = Object.entries(r.sentBytesPerNode)
    .map(([id, bytes]) => `${id} ${mib(bytes)}`)
    .join(", ");
  const rss = Object.entries(r.rssPeakBytes)
    .map(([id, bytes]) => `${id} ${bytes === null ? "?" : mib(bytes)}`)
    .join(", ");
  const grant = r.killToGrantMs === null ? "none" : `${Math.round(r.killToGrantMs)} ms`;
  return (
    `round ${r.round}: killed ${r.killed}, leader ${r.leader} after ${r.elections} election(s); ` +
    `lacked ${r.lackedEntries} entries (${mib(r.lackedBytes)} MiB), peers sent it ` +
    `${mib(r.sentToRestartedBytes)} MiB; sent MiB: ${sent}; peak RSS MiB: ${rss}; ` +
    `kill→grant ${grant}, longest outage ${Math.round(r.longestOutageMs)} ms, ` +
    `caught up ${Math.round(r.catchUpMs)} ms after the kill`
  );
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
