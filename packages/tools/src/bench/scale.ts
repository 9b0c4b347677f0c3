// The scale scenario of `pnpm bench`: fill a fresh three-node cluster (fsync on, default server
// options) to N held locks (keys jobs/tenant-T/task-M, TTL 1 h) with 64 clients, hold them, then
// restart a follower and wipe another (it catches up from a snapshot), watching every node once a
// second: fill rate, RSS, compactions and their durations, the longest event-loop stall, leader
// changes, and the time each restarted node takes to answer /readyz.
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Locker } from "@dlock/client";
import { LocalCluster } from "../local-cluster.js";
import { TURN_TRACE_PRELOAD, readLongTurns, readPhaseGc } from "./long-turns.js";
import type { LongTurn, PhaseGc } from "./long-turns.js";
import { observeNodes, readLogEvents, rssMiB } from "./node-watch.js";
import type { LogEvent, NodeObservation, WatchSample } from "./node-watch.js";

export interface ScaleOptions {
  root: string;
  locks: number;
  clients: number;
  /** How long the locks are held (watched) after the fill. */
  holdMs: number;
  cpuProfDir: string | null;
  /**
   * Where every server's turn-trace preload writes the turns longer than `turnTraceMs` (split
   * into on-CPU, waiting for a CPU and blocked time), or null for none.
   */
  turnTraceDir: string | null;
  turnTraceMs: number;
  /** Where to copy the nodes' data folders once the run is over, for later `from` runs. */
  keepDir: string | null;
  /**
   * Data folders kept by an earlier run (`keepDir`): the cluster starts from them, and the run
   * goes straight to the wiped follower (no fill, hold or graceful restart): ~1 min, not ~4.
   */
  fromDir: string | null;
  log: (line: string) => void;
}

export interface RestartOutcome {
  node: string;
  how: "graceful restart" | "wiped, snapshot install";
  /** Process start to /readyz 200 (for a wiped node: once it is a voter again). */
  readyMs: number;
  /**
   * Process start to applying the leader's commit index as it was before the stop (for a wiped
   * node: the snapshot install and the entries after it).
   */
  caughtUpMs: number;
  /** The index it had to apply. */
  caughtUpIndex: number;
  /** RSS once both ready and caught up. */
  rssMiBAtReady: number | null;
  /** Highest RSS in the 5 s after it was ready. */
  rssMiBAfter: number | null;
  /** Its longest event-loop stall from its start to 5 s after ready. */
  lagMaxMs: number | null;
  /** Snapshot index it reported once ready (a wiped node got it from the leader). */
  snapshotIndex: number | null;
}

export interface PhaseOutcome {
  phase: string;
  seconds: number;
  /** Leader changes seen in the samples (a different leader, or a higher term). */
  leaderChanges: number;
  termFrom: number | null;
  termTo: number | null;
  rssMiBMax: Record<string, number | null>;
  lagMaxMs: Record<string, number | null>;
}

export interface ScaleReport {
  locks: number;
  clients: number;
  ttl: string;
  fill: { seconds: number; locksPerSecond: number; errors: number; errorSamples: string[] };
  rssMiBAfterFill: Record<string, number | null>;
  rssMiBAfterHold: Record<string, number | null>;
  phases: PhaseOutcome[];
  compactions: LogEvent[];
  snapshotInstalls: LogEvent[];
  elections: LogEvent[];
  restarts: RestartOutcome[];
  samples: WatchSample[];
  /** Turns over the threshold, when the run traced them (`turnTraceDir`). */
  longTurns: LongTurn[] | null;
  /** GC pauses per phase and node, when the run traced them. */
  phaseGc: PhaseGc[] | null;
}

const CLUSTER_ID = "dlock-bench-scale";
const TTL = "1h";
const TASKS_PER_TENANT = 1000;
const SAMPLE_EVERY_MS = 1_000;
const PROGRESS_EVERY_MS = 5_000;
const SETTLE_AFTER_READY_MS = 5_000;
const READY_TIMEOUT_MS = 600_000;
/** What a kept data set says about itself (in `keepDir`). */
const KEPT_FILE = "scale-kept.json";
const NODE_IDS = ["n1", "n2", "n3"];

/** Lock number `i` as the scenario names it. */
export function scaleKey(i: number): string {
  return `jobs/tenant-${Math.floor(i / TASKS_PER_TENANT)}/task-${i % TASKS_PER_TENANT}`;
}

export async function runScale(options: ScaleOptions): Promise<ScaleReport> {
  const { log } = options;
  const locks = options.fromDir === null ? options.locks : await keptLocks(options);
  const cluster = await LocalCluster.start({
    root: options.root,
    fsync: true,
    clusterId: CLUSTER_ID,
    nodeArgs: [
      ...(options.cpuProfDir === null
        ? []
        : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`]),
      ...(options.turnTraceDir === null ? [] : ["--import", TURN_TRACE_PRELOAD]),
    ],
    ...(options.turnTraceDir === null
      ? {}
      : {
          env: {
            DLOCK_TURN_TRACE_DIR: options.turnTraceDir,
            DLOCK_TURN_TRACE_MS: String(options.turnTraceMs),
          },
        }),
  });
  const startedAtEpochMs = Date.now();
  const startedAt = performance.now();
  const seconds = () => (performance.now() - startedAt) / 1000;
  const samples: WatchSample[] = [];
  let phase = "start";
  const phaseStarts = [{ phase, atEpochMs: Date.now() }];
  const enter = (next: string) => {
    phase = next;
    phaseStarts.push({ phase, atEpochMs: Date.now() });
  };
  let taken = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const atS = seconds();
      const nodes = await observeNodes(cluster);
      samples.push({ atS, phase, locks: taken, nodes });
      await sleep(Math.max(0, SAMPLE_EVERY_MS - (seconds() - atS) * 1000));
    }
  })();
  try {
    await cluster.waitForLeader(60_000);
    await cluster.waitForReady(60_000);
    let fillSeconds = 0;
    let fill: { errors: number; errorSamples: string[] } = { errors: 0, errorSamples: [] };
    if (options.fromDir === null) {
      log(
        `scale: filling a fresh cluster to ${locks} locks (TTL ${TTL}) with ${options.clients} clients; data in ${options.root}`,
      );
      enter("fill");
      const fillStarted = performance.now();
      fill = await fillLocks(cluster, options, {
        onProgress: (done) => {
          taken = done;
        },
        progress: () => progressLine(samples, taken, locks, fillStarted),
        log,
      });
      fillSeconds = (performance.now() - fillStarted) / 1000;
      log(
        `scale: ${locks} locks taken in ${fillSeconds.toFixed(1)} s (${Math.round(locks / fillSeconds)}/s)`,
      );
    } else {
      log(`scale: ${locks} locks kept in ${options.fromDir}; straight to the wiped follower`);
    }
    taken = locks;
    const rssMiBAfterFill = await rssByNode(cluster);
    enter("hold");
    if (options.fromDir === null) {
      log(`scale: holding them for ${(options.holdMs / 1000).toFixed(0)} s`);
      await sleep(options.holdMs);
    }
    const rssMiBAfterHold = await rssByNode(cluster);
    const leader = await cluster.waitForLeader(60_000);
    const followers = cluster.nodes.map((n) => n.id).filter((id) => id !== leader);
    const [first, second] = followers;
    if (first === undefined) throw new Error("scale: needs a follower to restart (--nodes >= 2)");
    const restarts: RestartOutcome[] = [];
    enter("restart");
    if (options.fromDir === null) restarts.push(await restartNode(cluster, first, false, log));
    enter("wiped");
    restarts.push(await restartNode(cluster, second ?? first, true, log));
    enter("end");
    await checkHeld(cluster, locks);
    sampling = false;
    await sampler;
    const events = await readLogEvents(cluster, startedAtEpochMs);
    if (options.keepDir !== null) await keep(cluster, options.keepDir, locks, log);
    return {
      locks,
      clients: options.clients,
      ttl: TTL,
      fill: {
        seconds: fillSeconds,
        locksPerSecond: fillSeconds > 0 ? locks / fillSeconds : 0,
        errors: fill.errors,
        errorSamples: fill.errorSamples,
      },
      rssMiBAfterFill,
      rssMiBAfterHold,
      phases: ["fill", "hold", "restart", "wiped"].map((name) => phaseOutcome(samples, name)),
      compactions: events.filter((e) => e.kind === "compaction"),
      snapshotInstalls: events.filter((e) => e.kind === "snapshot-installed"),
      elections: events.filter((e) => e.kind === "became-leader"),
      restarts,
      samples,
      longTurns:
        options.turnTraceDir === null
          ? null
          : await readLongTurns(options.turnTraceDir, phaseStarts),
      phaseGc:
        options.turnTraceDir === null ? null : await readPhaseGc(options.turnTraceDir, phaseStarts),
    };
  } finally {
    sampling = false;
    await sampler.catch(() => undefined);
    await cluster.stop();
  }
}

/**
 * Copies the data folders of a kept run into this run's root (before its cluster starts), and
 * returns how many locks they hold. The command line gives the new ports; it wins over the
 * addresses the members record replicated.
 */
async function keptLocks(options: ScaleOptions): Promise<number> {
  const from = options.fromDir as string;
  const keptFile = join(from, KEPT_FILE);
  const text = await readFile(keptFile, "utf8").catch(() => null);
  const kept = text === null ? null : (JSON.parse(text) as { locks?: unknown });
  if (kept === null || typeof kept.locks !== "number") {
    throw new Error(
      `scale: ${keptFile} is missing or has no lock count; --scale-from takes a folder written by --scale-keep`,
    );
  }
  await rm(options.root, { recursive: true, force: true });
  for (const id of NODE_IDS) await cp(join(from, id), join(options.root, id), { recursive: true });
  return kept.locks;
}

/** Stops the cluster and copies its data folders to `dir` for later `fromDir` runs. */
async function keep(
  cluster: LocalCluster,
  dir: string,
  locks: number,
  log: (line: string) => void,
): Promise<void> {
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
  for (const id of NODE_IDS) await cp(cluster.node(id).dataDir, join(dir, id), { recursive: true });
  await writeFile(join(dir, KEPT_FILE), `${JSON.stringify({ locks, keptAt: new Date() })}\n`);
  log(`scale: data folders kept in ${dir} (--scale-from ${dir} starts from them)`);
}

/** Takes locks 0..N-1 with `clients` lockers (one connection each), each one acquire at a time. */
async function fillLocks(
  cluster: LocalCluster,
  options: ScaleOptions,
  hooks: { onProgress: (done: number) => void; progress: () => string; log: (l: string) => void },
): Promise<{ errors: number; errorSamples: string[] }> {
  const lockers = Array.from(
    { length: options.clients },
    () => new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID }),
  );
  let next = 0;
  let done = 0;
  let errors = 0;
  const errorSamples = new Set<string>();
  const progress = setInterval(() => hooks.log(hooks.progress()), PROGRESS_EVERY_MS);
  try {
    await Promise.all(lockers.map((locker) => locker.status()));
    await Promise.all(
      lockers.map(async (locker) => {
        while (next < options.locks) {
          const i = next++;
          // A failed acquire (a leader change, a timeout) is retried: taking a key again for
          // the same holder is harmless. A full table is not worth retrying.
          for (let attempt = 1; ; attempt++) {
            try {
              await locker.acquire(scaleKey(i), `holder-${i}`, { ttl: TTL });
              break;
            } catch (error) {
              errors++;
              if (errorSamples.size < 5) errorSamples.add(String(error));
              if ((error as { code?: string }).code === "LOCKS_FULL" || attempt >= 20) {
                throw error;
              }
              await sleep(100);
            }
          }
          done++;
          hooks.onProgress(done);
        }
      }),
    );
  } finally {
    clearInterval(progress);
    await Promise.all(lockers.map((locker) => locker.close()));
  }
  return { errors, errorSamples: [...errorSamples] };
}

function progressLine(
  samples: WatchSample[],
  done: number,
  total: number,
  startedAt: number,
): string {
  const elapsedS = (performance.now() - startedAt) / 1000;
  const last = samples[samples.length - 1];
  const nodes = (last?.nodes ?? [])
    .map(
      (n) => `${n.id}${n.role === "leader" ? "*" : ""} ${mib(n.rssMiB)} MiB lag ${ms(n.lagMaxMs)}`,
    )
    .join(", ");
  const term = Math.max(...(last?.nodes ?? []).map((n) => n.term ?? 0));
  return `  ${done} of ${total} locks (${elapsedS.toFixed(0)} s, ${Math.round(done / elapsedS)}/s); term ${term}; ${nodes}`;
}

/**
 * Stops follower `id` (SIGTERM) and starts it again, timing it to /readyz and to applying the
 * leader's commit index as it was before the stop. With `wipe` its data folder is deleted first
 * and it rejoins the way a node that lost its disk must (Raft cannot take it back as the same
 * voter: it forgot its votes and what it acknowledged): removed, added again, started with
 * --join, it catches up from the leader's snapshot as a learner and is then promoted.
 */
async function restartNode(
  cluster: LocalCluster,
  id: string,
  wipe: boolean,
  log: (line: string) => void,
): Promise<RestartOutcome> {
  const how = wipe ? "wiped, snapshot install" : "graceful restart";
  log(`scale: ${how} of follower ${id}...`);
  const leader = await cluster.waitForLeader(60_000);
  const caughtUpIndex = (await cluster.status(leader))?.commitIndex ?? 0;
  const admin = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
  let readyMs: number | null = null;
  let caughtUpMs: number | null = null;
  let spawnedAt: number;
  try {
    await cluster.kill(id, "SIGTERM");
    if (wipe) {
      await cluster.wipe(id);
      await admin.removeMember(id);
      await admin.addMember(id, cluster.node(id).peerAddress);
    }
    spawnedAt = performance.now();
    cluster.restart(id, wipe ? ["--join"] : []);
    const deadline = performance.now() + READY_TIMEOUT_MS;
    let promoted = !wipe;
    while (readyMs === null || caughtUpMs === null) {
      if (performance.now() > deadline) {
        throw new Error(
          `scale: ${id} not ready and caught up to ${caughtUpIndex} after ${READY_TIMEOUT_MS} ms; its log is ${cluster.node(id).logFile}`,
        );
      }
      const [status, ready] = await Promise.all([cluster.status(id, 1_000), readyz(cluster, id)]);
      const now = performance.now() - spawnedAt;
      if (readyMs === null && ready && promoted) readyMs = now;
      if (caughtUpMs === null && (status?.appliedIndex ?? 0) >= caughtUpIndex) caughtUpMs = now;
      if (!promoted && caughtUpMs !== null) {
        // Refused while the learner is still behind the leader; asked again on the next turn.
        promoted = await admin.promoteMember(id).then(
          () => true,
          () => false,
        );
      }
      await sleep(50);
    }
  } finally {
    await admin.close();
  }
  const pid = cluster.node(id).process?.pid;
  const rssMiBAtReady = await rssMiB(pid);
  let rssMiBAfter = rssMiBAtReady;
  const settleUntil = performance.now() + SETTLE_AFTER_READY_MS;
  while (performance.now() < settleUntil) {
    await sleep(500);
    const rss = await rssMiB(pid);
    if (rss !== null && (rssMiBAfter === null || rss > rssMiBAfter)) rssMiBAfter = rss;
  }
  const status = await cluster.status(id);
  const outcome: RestartOutcome = {
    node: id,
    how,
    readyMs,
    caughtUpMs,
    caughtUpIndex,
    rssMiBAtReady,
    rssMiBAfter,
    lagMaxMs: status?.eventLoopLag?.maxMsSinceStart ?? null,
    snapshotIndex: status?.raftLog?.snapshotIndex ?? null,
  };
  log(
    `scale: ${id} ready (/readyz) ${(readyMs / 1000).toFixed(1)} s after it started, caught up to ${caughtUpIndex} ` +
      `after ${(caughtUpMs / 1000).toFixed(1)} s; RSS ${mib(rssMiBAtReady)} MiB, ` +
      `${mib(rssMiBAfter)} MiB max in the next ${SETTLE_AFTER_READY_MS / 1000} s; longest stall ${ms(outcome.lagMaxMs)}`,
  );
  return outcome;
}

async function readyz(cluster: LocalCluster, id: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${cluster.node(id).httpAddress}/readyz`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The last lock taken is still held after the restarts (nothing was lost). */
async function checkHeld(cluster: LocalCluster, locks: number): Promise<void> {
  const locker = new Locker({ endpoints: cluster.endpoints(), clusterId: CLUSTER_ID });
  try {
    const key = scaleKey(locks - 1);
    const result = await locker.get(key);
    if (!result.held) throw new Error(`scale: ${key} is no longer held after the restarts`);
  } finally {
    await locker.close();
  }
}

async function rssByNode(cluster: LocalCluster): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const node of cluster.nodes) out[node.id] = await rssMiB(node.process?.pid);
  return out;
}

/** Leader changes, terms, peak RSS and longest stall per node over the samples of one phase. */
function phaseOutcome(samples: WatchSample[], phase: string): PhaseOutcome {
  const rows = samples.filter((s) => s.phase === phase);
  let leaderChanges = 0;
  let previous: { leader: string; term: number } | null = null;
  const terms: number[] = [];
  const rssMiBMax: Record<string, number | null> = {};
  const lagMaxMs: Record<string, number | null> = {};
  for (const row of rows) {
    const current = leaderOf(row.nodes);
    if (current !== null) {
      terms.push(current.term);
      if (
        previous !== null &&
        (current.leader !== previous.leader || current.term !== previous.term)
      ) {
        leaderChanges++;
      }
      previous = current;
    }
    for (const node of row.nodes) {
      rssMiBMax[node.id] = maxOf(rssMiBMax[node.id] ?? null, node.rssMiB);
      lagMaxMs[node.id] = maxOf(lagMaxMs[node.id] ?? null, node.lagMaxMs);
    }
  }
  return {
    phase,
    seconds: (rows.at(-1)?.atS ?? 0) - (rows[0]?.atS ?? 0),
    leaderChanges,
    termFrom: terms[0] ?? null,
    termTo: terms[terms.length - 1] ?? null,
    rssMiBMax,
    lagMaxMs,
  };
}

/** The leader a node that says it leads reports, with its term. */
function leaderOf(nodes: NodeObservation[]): { leader: string; term: number } | null {
  const leading = nodes.filter((n) => n.role === "leader" && n.term !== null);
  if (leading.length === 0) return null;
  const newest = leading.reduce((a, b) => ((b.term ?? 0) > (a.term ?? 0) ? b : a));
  return { leader: newest.id, term: newest.term ?? 0 };
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

function mib(value: number | null): string {
  return value === null ? "?" : value.toFixed(0);
}

function ms(value: number | null): string {
  return value === null ? "?" : `${value.toFixed(0)} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
