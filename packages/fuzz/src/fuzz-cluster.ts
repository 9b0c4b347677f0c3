// Three real `dlock server` processes for fuzzing, plus a fourth voter `n9` that is listed in
// every node's --cluster but has no process: the peer-port fuzzer claims to be it, so its
// connections never displace a real peer's link (a node keeps one inbound link per member).
// With four voters the quorum is three: every real node must stay up for writes to commit.
import { mkdtemp, open, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, LocalCluster } from "@dlock/tools";
import type { LocalNode } from "@dlock/tools";
import { Locker } from "@dlock/client";
import { FUZZ_DEFAULTS } from "./fuzz-options.js";

export const PHANTOM_ID = "n9";
export const CLUSTER_ID = "dlock-fuzz";

export interface SeededLock {
  key: string;
  value: string;
  fencingToken: number;
}

export interface NodeView {
  id: string;
  term: number;
  leader: string | null;
  role: string;
}

export class FuzzCluster {
  readonly cluster: LocalCluster;
  readonly root: string;
  readonly seeded: SeededLock[] = [];
  private readonly locker: Locker;
  /** How far each node's log file has been scanned for crash lines. */
  private readonly logOffsets = new Map<string, number>();

  private constructor(cluster: LocalCluster, root: string, authToken?: string, tlsCa?: string) {
    this.cluster = cluster;
    this.root = root;
    this.locker = new Locker({
      endpoints: cluster.endpoints(),
      ...(authToken === undefined ? {} : { authToken }),
      ...(tlsCa === undefined ? {} : { tls: { ca: tlsCa } }),
      requestTimeoutMs: 20_000,
      unavailableTimeoutMs: 30_000,
    });
  }

  /** Each node's members ("id:kind", sorted) once healthy at start: no client input may change them. */
  private membersAtStart = new Map<string, string>();

  /**
   * `auth`: the servers get an auth file (`authFile`) and the checker's Locker the token of a
   * principal with `lock:*` (`checkerToken`).
   */
  static async start(
    options: {
      keep?: boolean;
      auth?: { authFile: string; checkerToken: string };
      /** A `dlock certs init` folder (node certificates n1..n3, ca.pem): TLS, mutual TLS on the peer port. */
      tls?: { certsDir: string; ca: string };
      /** TTL of the seeded locks (default FUZZ_DEFAULTS.seededTtlMs). */
      seededTtlMs?: number;
    } = {},
  ): Promise<FuzzCluster> {
    const root = await mkdtemp(join(tmpdir(), "dlock-fuzz-"));
    // Nothing listens there: the phantom's peer address only needs to parse.
    const phantomAddress = `127.0.0.1:${await freePort()}`;
    const cluster = await LocalCluster.start({
      root,
      clusterId: CLUSTER_ID,
      tickMs: FUZZ_DEFAULTS.tickMs,
      electionTicks: FUZZ_DEFAULTS.electionTicks,
      clusterListFor: (_node: LocalNode, all: readonly LocalNode[]) =>
        [...all.map((n) => `${n.id}=${n.peerAddress}`), `${PHANTOM_ID}=${phantomAddress}`].join(
          ",",
        ),
      ...(options.tls === undefined ? {} : { tlsCertsDir: options.tls.certsDir }),
      extraArgs: [
        "--shutdown-timeout",
        "1s",
        ...(options.auth === undefined ? [] : ["--auth-file", options.auth.authFile]),
      ],
    });
    const fuzz = new FuzzCluster(cluster, root, options.auth?.checkerToken, options.tls?.ca);
    fuzz.keep = options.keep ?? false;
    fuzz.seededTtlMs = options.seededTtlMs ?? FUZZ_DEFAULTS.seededTtlMs;
    try {
      await fuzz.waitHealthy();
      await fuzz.seedLocks();
      fuzz.membersAtStart = await fuzz.members();
    } catch (error) {
      await fuzz.stop();
      throw error;
    }
    return fuzz;
  }

  private keep = false;
  private seededTtlMs: number = FUZZ_DEFAULTS.seededTtlMs;

  /** Keeps the nodes' data and logs when stopped (a failure's evidence). */
  keepAfterStop(): void {
    this.keep = true;
  }

  /** Takes the locks that must be held through the whole run, under values no generator produces. */
  private async seedLocks(): Promise<void> {
    this.seeded.length = 0;
    for (let i = 0; i < FUZZ_DEFAULTS.seededLocks; i++) {
      const key = `held/${i}`;
      const value = `holder-${i}-${process.pid}-${Date.now()}`;
      const grant = await this.locker.acquire(key, value, { ttl: this.seededTtlMs });
      this.seeded.push({ key, value, fencingToken: grant.fencingToken });
    }
  }

  /**
   * Kills every node, deletes their data and starts them again, empty (same ports and flags):
   * for shrinking an input that left the cluster unable to recover (no leader, ever).
   */
  async recreate(): Promise<void> {
    await Promise.all(this.cluster.nodes.map((n) => this.cluster.kill(n.id, "SIGKILL")));
    for (const node of this.cluster.nodes) {
      await this.cluster.wipe(node.id);
      this.cluster.restart(node.id);
    }
    await this.waitHealthy();
    await this.seedLocks();
    // The old logs (and their crash lines) were read already; the new lines follow them.
  }

  async waitHealthy(timeoutMs = 60_000): Promise<string> {
    const leader = await this.cluster.waitForLeader(timeoutMs);
    await this.cluster.waitForReady(timeoutMs);
    return leader;
  }

  /** Each running node's term and leader, from /status. */
  async views(): Promise<NodeView[]> {
    const views: NodeView[] = [];
    for (const node of this.cluster.nodes) {
      const status = await this.cluster.status(node.id, 5_000);
      if (status === null) throw new Error(`${node.id} does not answer /status`);
      views.push({ id: node.id, term: status.term, leader: status.leader, role: status.role });
    }
    return views;
  }

  /** Problems that end the run: a node that exited, or a crash line in a node's log. */
  async deadOrCrashed(): Promise<string[]> {
    const problems: string[] = [];
    for (const node of this.cluster.nodes) {
      if (node.process === null || node.process.exitCode !== null) {
        problems.push(`${node.id} exited (log: ${node.logFile})`);
      }
      const lines = await this.newLogLines(node);
      for (const line of lines) {
        if (isCrashLine(line)) problems.push(`${node.id} logged: ${line.slice(0, 600)}`);
      }
    }
    return problems;
  }

  /** Resident set size of each running node, in bytes (Linux /proc; empty elsewhere). */
  rssBytes(): Map<string, number> {
    const result = new Map<string, number>();
    for (const node of this.cluster.nodes) {
      const pid = node.process?.pid;
      if (pid === undefined) continue;
      try {
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const match = /VmRSS:\s+(\d+) kB/.exec(status);
        if (match !== null) result.set(node.id, Number(match[1]) * 1024);
      } catch {
        // Not Linux, or the process just exited (the liveness check reports that).
      }
    }
    return result;
  }

  private async members(): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    for (const node of this.cluster.nodes) {
      const status = await this.cluster.status(node.id, 5_000);
      if (status === null) throw new Error(`${node.id} does not answer /status`);
      const members = status.members.map((m) => `${m.id}:${m.kind}`).sort();
      result.set(node.id, members.join(","));
    }
    return result;
  }

  /** Nodes whose membership differs from the one at start. */
  async membershipChanges(): Promise<string[]> {
    const now = await this.members();
    const changes: string[] = [];
    for (const [id, before] of this.membersAtStart) {
      const after = now.get(id);
      if (after !== before) changes.push(`${id}: members ${before} → ${after ?? "?"}`);
    }
    return changes;
  }

  /**
   * Seeded locks that are no longer held by their holder with their token. Those still held are
   * renewed, as their holder would, by acquiring them again with the same value: the grant must
   * keep its token.
   */
  async lostSeededLocks(): Promise<string[]> {
    const lost: string[] = [];
    for (const lock of this.seeded) {
      const got = await this.locker.get(lock.key);
      if (!got.held || got.value !== lock.value || got.fencingToken !== lock.fencingToken) {
        lost.push(
          `${lock.key}: expected held by ${lock.value} with token ${lock.fencingToken}, got ${JSON.stringify(got)}`,
        );
        continue;
      }
      const renewed = await this.locker.acquire(lock.key, lock.value, { ttl: this.seededTtlMs });
      if (renewed.fencingToken !== lock.fencingToken) {
        lost.push(
          `${lock.key}: its holder's renewal got token ${renewed.fencingToken}, not ${lock.fencingToken}`,
        );
      }
    }
    return lost;
  }

  /** A normal client takes and releases a lock (through any node). */
  async canaryLock(): Promise<void> {
    const grant = await this.locker.acquire("canary", `canary-${process.pid}`, {
      ttl: FUZZ_DEFAULTS.canaryTtlMs,
    });
    const { released } = await this.locker.release("canary", grant.value, {
      token: grant.fencingToken,
    });
    if (!released) throw new Error("the canary lock was not released");
  }

  /** Starts nodes that exited again (same flags and data), e.g. before shrinking a crash. */
  async restartDead(): Promise<void> {
    for (const node of this.cluster.nodes) {
      if (node.process === null) this.cluster.restart(node.id);
    }
    await this.waitHealthy();
  }

  async stop(): Promise<void> {
    await this.locker.close().catch(() => undefined);
    await Promise.all(this.cluster.nodes.map((n) => this.cluster.kill(n.id, "SIGKILL")));
    if (!this.keep) await rm(this.root, { recursive: true, force: true });
  }

  private async newLogLines(node: LocalNode): Promise<string[]> {
    const from = this.logOffsets.get(node.id) ?? 0;
    let file;
    try {
      file = await open(node.logFile, "r");
    } catch {
      return [];
    }
    try {
      const { size } = await file.stat();
      if (size <= from) return [];
      const buffer = Buffer.alloc(size - from);
      await file.read(buffer, 0, buffer.length, from);
      // Only whole lines; a partial last line is read next time.
      const text = buffer.toString("utf8");
      const end = text.lastIndexOf("\n");
      if (end < 0) return [];
      this.logOffsets.set(node.id, from + Buffer.byteLength(text.slice(0, end + 1)));
      return text
        .slice(0, end)
        .split("\n")
        .filter((l) => l.length > 0);
    } finally {
      await file.close();
    }
  }
}

/**
 * A log line that shows a bug: an error-level or fatal entry (the server logs at error only
 * when its own code failed: a handler threw, storage failed) or anything that is not a JSON log
 * line (an uncaught exception's stack trace on stderr).
 */
export function isCrashLine(line: string): boolean {
  let entry: { level?: unknown };
  try {
    entry = JSON.parse(line) as { level?: unknown };
  } catch {
    return true;
  }
  return typeof entry.level === "number" && entry.level >= 50;
}
