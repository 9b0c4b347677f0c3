#!/usr/bin/env node
// `pnpm bench`: starts a local three-node cluster (real `dlock server` processes, fsync on) in a
// temporary folder and measures acquire+release cycles per second and cycle latency for
// (a) 64 clients on distinct keys, (a') 32 clients on distinct keys sharing one Locker (one
// connection per node), (b) 16 clients on one key, queued with `wait` (the FIFO handoff), (c) one
// client serially, (d) 4N clients on a semaphore of N permits; then (e) the
// election fail-over (bench/election-failover.ts: kill the leading candidate's process, or the
// Raft leader node, and time the next campaign's return); then (f) the scale scenario on a
// cluster of its own (bench/scale.ts: a million held locks, memory, compactions, stalls,
// restarts); first, unless left out, (g) the commit floor (bench/commit-floor.ts: bare processes
// on the same disk and loopback, the least a commit can cost here), then (h) the client's cost
// (bench/client-cost.ts: a Locker against a bare node that answers at once). Flags: --duration (per scenario, default 10s), --warmup (default 1s), --scenario
// distinct|shared|one-key|serial|semaphore|floor|client|election-failover|scale (repeatable; default all; --quick:
// all but scale, which takes ~10 minutes), --permits, --failover-rounds, --failover-ttl, --dir (where the
// data folder goes; default the system's temporary folder), --json, --tls (the same scenarios
// on a second cluster with TLS and mutual TLS, to show what TLS costs), --rounds (repeat every
// scenario; with --tls each round runs plain and TLS back to back, alternating which goes first,
// so load that drifts on a shared machine skews both sides alike and the ratio is taken per round),
// --cpu-prof FOLDER (profile every server), --scale-locks/--scale-clients/--scale-hold/--out,
// --scale-keep/--scale-from (keep a scale run's data; start a later one from it at the wipe),
// --turn-trace FOLDER/--turn-trace-ms (split a scale run's long turns into CPU, waiting, blocked).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "@dlock/client";
import type { ClientTlsOptions } from "@dlock/client";
import { makeDevCertificates } from "./dev-certs.js";
import { LocalCluster } from "./local-cluster.js";
import { sampleNodes, usageBetween } from "./bench/node-sample.js";
import type { NodeSample, NodeUsage } from "./bench/node-sample.js";
import { runScenario } from "./bench/scenario.js";
import type { ScenarioOutcome, ScenarioSpec } from "./bench/scenario.js";
import { perSecondText, probeSyncedWriteMs, processCpuMs } from "./bench/stats.js";
import { runScale } from "./bench/scale.js";
import type { ScaleReport } from "./bench/scale.js";
import { longTurnsTable, phaseGcTable } from "./bench/long-turns.js";
import { scaleChart, scaleTable } from "./bench/scale-output.js";
import { runElectionFailover } from "./bench/election-failover.js";
import type { FailoverReport } from "./bench/election-failover.js";
import { primitivesChart, primitivesTable } from "./bench/primitives-output.js";
import { formatCommitFloor, measureCommitFloor } from "./bench/commit-floor.js";
import type { CommitFloor } from "./bench/commit-floor.js";
import { formatClientCost, measureClientCost } from "./bench/client-cost.js";
import type { ClientCost } from "./bench/client-cost.js";

const TTL = "30s";
/** How long the servers get to stop gracefully when the bench is killed, before SIGKILL. */
const SIGNAL_STOP_GRACE_MS = 5_000;
/** The scale scenario's name (it runs on a cluster of its own, after the others). */
const SCALE = "scale";
/** The election fail-over scenario's name (it runs on the plain cluster, after the others). */
const ELECTION_FAILOVER = "election-failover";
/** The commit-floor probe's name (bare processes, before any cluster starts). */
const FLOOR = "floor";
/** The client-cost probe's name (a Locker against a bare answering node, before any cluster). */
const CLIENT_COST = "client";
/** Scenarios that are not acquire/release windows. */
const SPECIAL_SCENARIOS = [FLOOR, CLIENT_COST, ELECTION_FAILOVER, SCALE];
/** N of the semaphore scenario, which runs 4N clients. */
const DEFAULT_PERMITS = 8;
const DEFAULT_FAILOVER_ROUNDS = 5;
const QUICK_FAILOVER_ROUNDS = 2;
/** The candidates' lease: the process-kill figure is bound by it (the server's minimum is 2.5 s). */
const DEFAULT_FAILOVER_TTL = "3s";

/** The semaphore scenario: 4N clients on one key of N permits, queued with `wait`. */
function semaphoreSpec(permits: number): ScenarioSpec {
  return {
    name: "semaphore",
    title: `${4 * permits} clients, ${permits} permits (wait)`,
    clients: 4 * permits,
    keyOf: () => "bench/semaphore",
    options: { ttl: TTL, wait: "1m" },
    permits,
  };
}

const SCENARIOS: readonly ScenarioSpec[] = [
  {
    name: "distinct",
    title: "64 clients, distinct keys",
    clients: 64,
    keyOf: (index) => `bench/distinct/${index}`,
    options: { ttl: TTL },
  },
  {
    // One application's workers share a Locker: all requests go over one connection per node,
    // as in the side-by-side runs against Redis and etcd.
    name: "shared",
    title: "32 clients, distinct keys, one connection",
    clients: 32,
    keyOf: (index) => `bench/shared/${index}`,
    options: { ttl: TTL },
    sharedLocker: true,
  },
  {
    name: "one-key",
    title: "16 clients, one key (wait)",
    clients: 16,
    keyOf: () => "bench/one-key",
    options: { ttl: TTL, wait: "1m" },
  },
  {
    name: "serial",
    title: "1 client, serial",
    clients: 1,
    keyOf: () => "bench/serial",
    options: { ttl: TTL },
  },
  semaphoreSpec(DEFAULT_PERMITS),
];

interface ScenarioReport extends ScenarioOutcome {
  name: string;
  /** 1-based round this window belongs to. */
  round: number;
  /** Whether the cluster and the clients spoke TLS (mutual TLS between the nodes). */
  tls: boolean;
  title: string;
  clients: number;
  /** N of a semaphore scenario; null for the lock scenarios. */
  permits: number | null;
  nodes: NodeUsage[];
  /** CPU of this process (all the clients) as a percentage of one core. */
  clientCpuPercent: number | null;
  /** The machine's 1-minute load average when the window closed (other work skews figures). */
  loadAverage: number;
}

class UsageError extends Error {}

function parseFlags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", default: "10s" },
      warmup: { type: "string", default: "1s" },
      rounds: { type: "string", default: "1" },
      dir: { type: "string" },
      scenario: { type: "string", multiple: true },
      quick: { type: "boolean", default: process.env.DLOCK_BENCH_QUICK === "1" },
      json: { type: "boolean", default: false },
      tls: { type: "boolean", default: false },
      "cpu-prof": { type: "string", default: process.env.DLOCK_BENCH_CPU_PROF },
      clients: { type: "string", default: process.env.DLOCK_BENCH_CLIENTS },
      permits: {
        type: "string",
        default: process.env.DLOCK_BENCH_PERMITS ?? String(DEFAULT_PERMITS),
      },
      "failover-rounds": { type: "string", default: process.env.DLOCK_BENCH_FAILOVER_ROUNDS },
      "failover-ttl": {
        type: "string",
        default: process.env.DLOCK_BENCH_FAILOVER_TTL ?? DEFAULT_FAILOVER_TTL,
      },
      "scale-locks": { type: "string", default: process.env.DLOCK_BENCH_SCALE_LOCKS ?? "1000000" },
      "scale-clients": { type: "string", default: process.env.DLOCK_BENCH_SCALE_CLIENTS ?? "64" },
      "scale-hold": { type: "string", default: process.env.DLOCK_BENCH_SCALE_HOLD ?? "30s" },
      "scale-keep": { type: "string" },
      "scale-from": { type: "string" },
      "turn-trace": { type: "string" },
      "turn-trace-ms": { type: "string", default: "40" },
      out: { type: "string", default: process.env.DLOCK_BENCH_OUT ?? "bench-results" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const durationMs = parseDuration(values.duration, "--duration");
  const warmupMs = parseDuration(values.warmup, "--warmup");
  if (durationMs < 100) throw new UsageError("--duration must be at least 100ms");
  if (!/^[1-9][0-9]{0,2}$/.test(values.rounds)) {
    throw new UsageError(`--rounds ${values.rounds}: expected a whole number from 1 to 999`);
  }
  const rounds = Number(values.rounds);
  const names = (values.scenario ?? []).flatMap((s) => s.split(","));
  for (const name of names) {
    if (!SPECIAL_SCENARIOS.includes(name) && !SCENARIOS.some((s) => s.name === name)) {
      throw new UsageError(
        `--scenario ${name}: unknown (choose from ${[...SCENARIOS.map((s) => s.name), ...SPECIAL_SCENARIOS].join(", ")})`,
      );
    }
  }
  if (values.quick && names.includes(SCALE)) {
    throw new UsageError("--quick skips the scale scenario: drop --quick or --scenario scale");
  }
  const wholeNumber = (flag: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new UsageError(`--${flag} ${text}: expected a whole number of at least ${min}`);
    }
    return value;
  };
  const clients = values.clients === undefined ? null : wholeNumber("clients", values.clients, 1);
  const permits = wholeNumber("permits", values.permits, 1);
  const failoverTtl = values["failover-ttl"];
  parseDuration(failoverTtl, "--failover-ttl");
  const failoverRounds =
    values["failover-rounds"] === undefined
      ? values.quick
        ? QUICK_FAILOVER_ROUNDS
        : DEFAULT_FAILOVER_ROUNDS
      : wholeNumber("failover-rounds", values["failover-rounds"], 1);
  const scenarios = (
    names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name))
  ).map((spec) => {
    // The semaphore scenario's clients follow --permits (4N), not --clients.
    if (spec.permits !== undefined) return semaphoreSpec(permits);
    return clients === null || spec.clients === 1
      ? spec
      : { ...spec, clients, title: spec.title.replace(/^\d+ clients/, `${clients} clients`) };
  });
  return {
    durationMs,
    warmupMs,
    rounds,
    scenarios,
    dir: values.dir ?? tmpdir(),
    json: values.json,
    tls: values.tls,
    cpuProfDir: values["cpu-prof"] === undefined ? null : resolve(values["cpu-prof"]),
    floor: names.length === 0 || names.includes(FLOOR),
    clientCost: names.length === 0 || names.includes(CLIENT_COST),
    electionFailover: names.length === 0 || names.includes(ELECTION_FAILOVER),
    failoverRounds,
    failoverTtl,
    scale: !values.quick && (names.length === 0 || names.includes(SCALE)),
    scaleLocks: wholeNumber("scale-locks", values["scale-locks"], 1),
    scaleClients: wholeNumber("scale-clients", values["scale-clients"], 1),
    scaleHoldMs: parseDuration(values["scale-hold"], "--scale-hold"),
    scaleKeepDir: values["scale-keep"] === undefined ? null : resolve(values["scale-keep"]),
    scaleFromDir: values["scale-from"] === undefined ? null : resolve(values["scale-from"]),
    turnTraceDir: values["turn-trace"] === undefined ? null : resolve(values["turn-trace"]),
    turnTraceMs: wholeNumber("turn-trace-ms", values["turn-trace-ms"], 1),
    out: resolve(values.out),
    help: values.help,
  };
}

const HELP = `usage: pnpm bench [--duration 10s] [--warmup 1s] [--scenario NAME]... [--quick] [--rounds 1]
                  [--dir FOLDER] [--json] [--tls] [--cpu-prof FOLDER] [--clients N] [--permits 8]
                  [--failover-rounds 5] [--failover-ttl 3s]
                  [--scale-locks 1000000] [--scale-clients 64] [--scale-hold 30s] [--out bench-results]
                  [--scale-keep FOLDER] [--scale-from FOLDER] [--turn-trace FOLDER] [--turn-trace-ms 40]

Starts a local three-node dlock cluster (fsync on) in a temporary folder and measures
acquire+release cycles per second and cycle latency (p50/p90/p99/max) per scenario:
  distinct  64 clients, each on its own key
  shared    32 clients, each on its own key, all on one Locker (one connection per node, as one
            application's workers share it); a server limit that throttles a connection shows here
  one-key   16 clients on one key, queued with wait (measures the FIFO handoff: also prints the
            handoff, from a holder issuing release() to the next waiter's lock() resolving)
  serial    one client, one cycle at a time
  floor     before any cluster starts: the round trip of a request to a bare process that only
            writes + fdatasyncs it (as an fsync-always Redis does per write), and of a bare
            replicated commit of three (leader write + fdatasync while two followers do the same;
            the first answer is a majority); their ratio is the least a serial cycle can be
            against such a server here
  client    before any cluster starts: the client library's CPU per lock() → release() cycle,
            serially and with 32 loops on one Locker, against a bare node that answers at once
  semaphore 4N clients on one semaphore of N = --permits (DLOCK_BENCH_PERMITS, default 8) permits,
            queued with wait: permit cycles/s, cycle latency, the wait for a permit (p50/p99),
            and the most holders the clients saw at once (never more than N: else exit 1)
  election-failover
            candidates campaign from processes of their own; with one leading and one queued,
            (process) SIGKILL the leader's process: its lease must run out, so the time to the
            next leader is bound by --failover-ttl (DLOCK_BENCH_FAILOVER_TTL, 3s); (node) SIGKILL
            the Raft leader node while the leading candidate resigns: a hand-off across a Raft
            election, no lease expiry. --failover-rounds (DLOCK_BENCH_FAILOVER_ROUNDS) rounds of
            each (default 5, 2 with --quick); reports the time from the kill to the next
            leader's campaign() returning per round, p50 and max. On the plain cluster only.
  scale     on a fresh cluster of its own: --scale-locks locks (DLOCK_BENCH_SCALE_LOCKS, default
            1,000,000; keys jobs/tenant-T/task-M, TTL 1h) taken by --scale-clients clients
            (DLOCK_BENCH_SCALE_CLIENTS, 64) and held for --scale-hold (DLOCK_BENCH_SCALE_HOLD, 30s);
            then a follower restarts, and another is wiped and restarts (a snapshot install).
            Reports the fill rate, RSS per node, compactions and their durations, the longest
            event-loop stall per node, leader changes, and each restart's time to /readyz and RSS,
            as a table, a JSON file and an SVG chart in --out (DLOCK_BENCH_OUT, bench-results).
            With the default million locks it takes about 4 minutes on a quiet 2-core machine
            (the fill runs at ~11,000 locks/s); the others take about 2 minutes together.
            --scale-keep FOLDER copies the nodes' data folders there at the end; --scale-from
            FOLDER starts the cluster from such a copy (its lock count with it) and goes straight
            to the wiped follower: a repro of the snapshot install in about a minute.
            --turn-trace FOLDER loads a preload into every server that writes each event-loop
            turn longer than --turn-trace-ms (40) to FOLDER, split into time on a CPU, time
            waiting for one, time blocked and the GC pauses in it (Linux), and prints them.
--quick (DLOCK_BENCH_QUICK=1) runs every scenario but scale, with 2 fail-over rounds.
The semaphore and fail-over results also go to --out as a table, a JSON file and an SVG chart.
The nodes' data goes in a new folder under --dir (default: the system's temporary folder), removed
at the end; the disk's synced-write latency is measured there first, since it bounds every commit.
--rounds N runs every scenario N times. With --tls a second cluster runs beside the first, with TLS
to the clients and mutual TLS between the nodes (certificates from dlock certs); each round runs a
scenario on both back to back, alternating which goes first, and the TLS/plain ratio is taken per
round and printed with its median (only ratios from one run mean anything on a shared machine).
--clients N (DLOCK_BENCH_CLIENTS) runs the distinct, shared and one-key scenarios with N clients instead
(e.g. 32, the clients of the side-by-side runs against etcd and Redis).
--cpu-prof FOLDER (DLOCK_BENCH_CPU_PROF) runs every server under node --cpu-prof, writing one
.cpuprofile per server to FOLDER when the run ends; node packages/tools/dist/cpuprofile-top.js
prints their top frames.
`;

async function main(): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`pnpm bench: ${(error as Error).message}\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = (line: string) => {
    if (!flags.json) process.stdout.write(`${line}\n`);
  };
  const root = await mkdtemp(join(flags.dir, "dlock-bench-"));
  // Killed (Ctrl-C, kill): stop every server this run started, then leave with the signal's code.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`pnpm bench: ${signal}: stopping the servers\n`);
    void LocalCluster.stopAll(SIGNAL_STOP_GRACE_MS)
      .then(() => rm(root, { recursive: true, force: true }))
      .finally(() => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const syncedWriteMs = probeSyncedWriteMs(root);
  const reports: ScenarioReport[] = [];
  const clusters: BenchCluster[] = [];
  const failovers: FailoverReport[] = [];
  let scale: ScaleReport | null = null;
  let floor: CommitFloor | null = null;
  let clientCost: ClientCost | null = null;
  const needsCluster = flags.scenarios.length > 0 || flags.electionFailover;
  try {
    if (flags.floor) {
      floor = await measureCommitFloor(root);
      log(formatCommitFloor(floor));
    }
    if (flags.clientCost) {
      clientCost = await measureClientCost();
      log(formatClientCost(clientCost));
    }
    for (const tls of !needsCluster ? [] : flags.tls ? [false, true] : [false]) {
      clusters.push(
        await startCluster(join(root, tls ? "tls" : "plain"), tls, log, flags.cpuProfDir),
      );
    }
    if (flags.scenarios.length > 0) {
      log(
        `${flags.durationMs} ms per scenario after a ${flags.warmupMs} ms warm-up, ${flags.rounds} round(s)\n`,
      );
    }
    for (let round = 1; round <= flags.rounds; round++) {
      for (const spec of flags.scenarios) {
        // Alternate the order so a load that drifts during the run skews both sides alike.
        const order = round % 2 === 1 ? clusters : [...clusters].reverse();
        for (const bench of order) {
          const report = await runOne(spec, bench, round, flags);
          reports.push(report);
          log(formatReport(report, flags.rounds));
        }
      }
    }
    const plain = clusters.find((bench) => !bench.tls);
    if (flags.electionFailover && plain !== undefined) {
      log(
        `election fail-over: ${flags.failoverRounds} round(s) per kill, candidates' TTL ${flags.failoverTtl}`,
      );
      for (const kill of ["process", "node"] as const) {
        const report = await runElectionFailover({
          cluster: plain.cluster,
          kill,
          rounds: flags.failoverRounds,
          ttl: flags.failoverTtl,
          log,
        });
        failovers.push(report);
        log(formatFailover(report));
      }
    }
    const semaphores = reports.filter((r) => r.permits !== null);
    if (semaphores.length > 0 || failovers.length > 0) {
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      await mkdir(flags.out, { recursive: true });
      const jsonFile = join(flags.out, `primitives-${stamp}.json`);
      const svgFile = join(flags.out, `primitives-${stamp}.svg`);
      await writeFile(
        jsonFile,
        `${JSON.stringify({ semaphore: semaphores, electionFailover: failovers }, null, 1)}\n`,
      );
      await writeFile(svgFile, primitivesChart(semaphores, failovers));
      log(
        `${primitivesTable(semaphores, failovers)}\nprimitive results: ${jsonFile}, chart: ${svgFile}\n`,
      );
    }
    await Promise.all(clusters.map((bench) => bench.cluster.stop()));
    if (flags.scale) {
      scale = await runScale({
        root: join(root, SCALE),
        locks: flags.scaleLocks,
        clients: flags.scaleClients,
        holdMs: flags.scaleHoldMs,
        cpuProfDir: flags.cpuProfDir,
        turnTraceDir: flags.turnTraceDir,
        turnTraceMs: flags.turnTraceMs,
        keepDir: flags.scaleKeepDir,
        fromDir: flags.scaleFromDir,
        log,
      });
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      await mkdir(flags.out, { recursive: true });
      const jsonFile = join(flags.out, `scale-${stamp}.json`);
      const svgFile = join(flags.out, `scale-${stamp}.svg`);
      await writeFile(jsonFile, `${JSON.stringify(scale, null, 1)}\n`);
      await writeFile(svgFile, scaleChart(scale));
      log(`\n${scaleTable(scale)}\nscale results: ${jsonFile}, chart: ${svgFile}\n`);
      if (scale.longTurns !== null) log(`\n${longTurnsTable(scale.longTurns, flags.turnTraceMs)}`);
      if (scale.phaseGc !== null) log(`\n${phaseGcTable(scale.phaseGc)}`);
    }
  } finally {
    await Promise.all(clusters.map((bench) => bench.cluster.stop()));
    await rm(root, { recursive: true, force: true });
  }
  if (floor !== null) for (const line of againstFloor(floor, reports)) log(line);
  if (flags.tls) {
    log("TLS / plain (per round, then the median):");
    for (const spec of flags.scenarios) {
      const throughput: number[] = [];
      const latency: number[] = [];
      for (let round = 1; round <= flags.rounds; round++) {
        const of = (tls: boolean) =>
          reports.find((r) => r.tls === tls && r.name === spec.name && r.round === round);
        const plain = of(false);
        const secure = of(true);
        if (plain === undefined || secure === undefined) continue;
        throughput.push(secure.cyclesPerSecond / plain.cyclesPerSecond);
        latency.push((secure.latencyMs?.p50 ?? Number.NaN) / (plain.latencyMs?.p50 ?? Number.NaN));
      }
      const list = (values: number[]) => values.map((v) => `x${v.toFixed(2)}`).join(" ");
      log(
        `  ${spec.title}: cycles/s ${list(throughput)} (median x${median(throughput).toFixed(2)}); ` +
          `p50 ${list(latency)} (median x${median(latency).toFixed(2)})`,
      );
    }
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        cluster: {
          nodes: clusters[0]?.cluster.nodes.length ?? 0,
          fsync: true,
          serverOptions: "defaults",
        },
        machine: { cpus: availableParallelism(), syncedWriteMs },
        commitFloor: floor,
        clientCost,
        durationMs: flags.durationMs,
        warmupMs: flags.warmupMs,
        rounds: flags.rounds,
        scenarios: reports,
        electionFailover: failovers,
        scale,
      })}\n`,
    );
  }
  const broken = reports.filter((r) => r.holdersMax > (r.permits ?? 1));
  for (const r of broken) {
    process.stderr.write(
      `pnpm bench: ${r.title}: ${r.holdersMax} clients held one key at once (at most ${r.permits ?? 1} may)\n`,
    );
  }
  const failed =
    reports.some((r) => r.cycles === 0) ||
    broken.length > 0 ||
    failovers.some((f) => f.errors.length > 0);
  return failed ? 1 : 0;
}

/**
 * The plain serial and one-connection scenarios against the commit floor: a cycle is two
 * commits, so a serial cycle's floor is two bare replicated round trips, and a one-connection
 * scenario's commits per second are twice its cycles.
 */
function againstFloor(floor: CommitFloor, reports: readonly ScenarioReport[]): string[] {
  const lines: string[] = [];
  const plain = (name: string) => reports.filter((r) => r.name === name && !r.tls);
  const cycleFloorMs = 2 * floor.replicatedMs.p50;
  const serialReports = plain("serial");
  const serial = serialReports.flatMap((r) => (r.latencyMs === null ? [] : [r.latencyMs.p50]));
  if (serial.length > 0) {
    lines.push(
      `1 client, serial: cycle p50 ${serial.map((p) => `${p.toFixed(2)} ms (x${(p / cycleFloorMs).toFixed(1)})`).join(", ")} ` +
        `against the floor of two bare replicated commits, ${cycleFloorMs.toFixed(2)} ms`,
    );
    lines.push(...cpuPerCommitAgainstBare(serialReports, floor.replicatedSerialCpuUsPerAnswer, 0));
  }
  const shared = plain("shared").filter((r) => r.clients === floor.concurrentClients);
  if (shared.length > 0) {
    lines.push(
      `${floor.concurrentClients} clients, one connection: ${shared.map((r) => `${perSecondText(2 * r.cyclesPerSecond)} commits/s (x${((2 * r.cyclesPerSecond) / floor.replicatedPerSecond).toFixed(2)})`).join(", ")} ` +
        `against the bare replicated floor, ${perSecondText(floor.replicatedPerSecond)}/s`,
    );
    lines.push(...cpuPerCommitAgainstBare(shared, floor.replicatedCpuUsPerAnswer, 1));
  }
  return lines;
}

/**
 * One line (or none, when either side's CPU is unknown): the leader's and one follower's CPU per
 * commit in `reports`, beside the bare floor's `bareUs`, shown with `bareDigits` decimals.
 */
function cpuPerCommitAgainstBare(
  reports: readonly ScenarioReport[],
  bareUs: number | null,
  bareDigits: number,
): string[] {
  const cpu = reports
    .map((r) => leaderAndFollowerCpu(r)?.totalUs ?? null)
    .filter((us) => us !== null);
  if (cpu.length === 0 || bareUs === null) return [];
  return [
    `  CPU per commit, the leader and one follower: ${cpu.map((us) => `${us.toFixed(0)} µs`).join(", ")} ` +
      `(bare: ${bareUs.toFixed(bareDigits)} µs)`,
  ];
}

/**
 * The leader's and its busiest follower's CPU per commit (two per cycle), in microseconds, and
 * the part of it on their main threads (the event loops); null when /proc could not tell.
 */
function leaderAndFollowerCpu(
  report: ScenarioReport,
): { totalUs: number; mainThreadUs: number | null } | null {
  const leader = report.nodes.find((node) => node.role === "leader");
  const followers = report.nodes.filter((node) => node.role !== "leader");
  let follower: NodeUsage | null = null;
  for (const node of followers) {
    if ((node.cpuPercent ?? -1) > (follower?.cpuPercent ?? -1)) follower = node;
  }
  const leaderPercent = leader?.cpuPercent ?? null;
  const followerPercent = follower?.cpuPercent ?? null;
  if (leaderPercent === null || followerPercent === null || report.cyclesPerSecond === 0) {
    return null;
  }
  const usPerCommit = (percent: number) => ((percent / 100) * 1e6) / (2 * report.cyclesPerSecond);
  const leaderMain = leader?.mainThreadCpuPercent ?? null;
  const followerMain = follower?.mainThreadCpuPercent ?? null;
  return {
    totalUs: usPerCommit(leaderPercent + followerPercent),
    mainThreadUs:
      leaderMain === null || followerMain === null ? null : usPerCommit(leaderMain + followerMain),
  };
}

/**
 * Where a commit's CPU goes: the event loops (the code, the sockets' system calls) against the
 * other threads (LevelDB's writes and fsyncs on libuv's pool, V8's GC). A change to the code
 * moves the first; the second follows the disk. Empty when /proc could not tell.
 */
function cpuSplitLine(report: ScenarioReport): string[] {
  const cpu = leaderAndFollowerCpu(report);
  if (cpu === null || cpu.mainThreadUs === null) return [];
  return [
    `  CPU per commit, the leader and its busier follower: ${cpu.totalUs.toFixed(0)} µs; ` +
      `on their event-loop threads ${cpu.mainThreadUs.toFixed(0)} µs, on their other threads ` +
      `(LevelDB writes and fsyncs, GC) ${(cpu.totalUs - cpu.mainThreadUs).toFixed(0)} µs`,
  ];
}

interface BenchCluster {
  cluster: LocalCluster;
  tls: boolean;
  clientTls: ClientTlsOptions | null;
}

/** The one-minute load average (os.loadavg() always has three; NaN if a platform had none). */
function loadAverage1m(): number {
  return loadavg()[0] ?? Number.NaN;
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const high = sorted[middle] ?? Number.NaN;
  const low = sorted[middle - 1] ?? high;
  return sorted.length % 2 === 1 ? high : (low + high) / 2;
}

/** Starts a cluster under `root` (with TLS or not) and waits until it is ready. */
async function startCluster(
  root: string,
  tls: boolean,
  log: (line: string) => void,
  cpuProfDir: string | null,
): Promise<BenchCluster> {
  let certsDir: string | null = null;
  let clientTls: ClientTlsOptions | null = null;
  if (tls) {
    certsDir = join(root, "certs");
    await makeDevCertificates({ dir: certsDir, nodes: ["n1", "n2", "n3"] });
    clientTls = { ca: await readFile(join(certsDir, "ca.pem")) };
  }
  const cluster = await LocalCluster.start({
    root,
    fsync: true,
    clusterId: tls ? "dlock-bench-tls" : "dlock-bench",
    ...(certsDir === null ? {} : { tlsCertsDir: certsDir }),
    // Each server writes its profile when it stops gracefully (at the end of the run).
    ...(cpuProfDir === null ? {} : { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] }),
  });
  try {
    const leader = await cluster.waitForLeader(60_000);
    await cluster.waitForReady(60_000);
    log(
      `dlock bench: 3 dlock server processes on loopback, fsync on, ${tls ? "TLS (mutual between nodes)" : "plain TCP"}, data in ${root}; leader ${leader}`,
    );
    log(
      `disk: a small synced write (write + fdatasync) takes ${probeSyncedWriteMs(root).toFixed(2)} ms (median); ` +
        `load average ${loadAverage1m().toFixed(1)} on ${availableParallelism()} CPUs`,
    );
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { cluster, tls, clientTls };
}

/** Runs one scenario's measured window on `bench`. */
async function runOne(
  spec: ScenarioSpec,
  bench: BenchCluster,
  round: number,
  flags: ReturnType<typeof parseFlags>,
): Promise<ScenarioReport> {
  const { cluster } = bench;
  let before: NodeSample[] = [];
  let after: NodeSample[] = [];
  let clientCpuBefore: number | null = null;
  let clientCpuAfter: number | null = null;
  const outcome = await runScenario(
    spec,
    cluster.endpoints(),
    {
      warmupMs: flags.warmupMs,
      durationMs: flags.durationMs,
      onWindowOpen: async () => {
        before = await sampleNodes(cluster);
        clientCpuBefore = processCpuMs(process.pid);
      },
      onWindowClose: async () => {
        clientCpuAfter = processCpuMs(process.pid);
        after = await sampleNodes(cluster);
      },
    },
    bench.clientTls,
  );
  return {
    name: spec.name,
    round,
    tls: bench.tls,
    title: spec.title,
    clients: spec.clients,
    permits: spec.permits ?? null,
    ...outcome,
    nodes: usageBetween(before, after, outcome.windowMs),
    clientCpuPercent:
      clientCpuBefore === null || clientCpuAfter === null
        ? null
        : ((clientCpuAfter - clientCpuBefore) * 100) / outcome.windowMs,
    loadAverage: loadAverage1m(),
  };
}

function formatReport(report: ScenarioReport, rounds: number): string {
  const ms = (value: number | undefined) => (value === undefined ? "-" : value.toFixed(2));
  const percent = (value: number | null) => (value === null ? "?" : `${value.toFixed(0)}%`);
  const latency = report.latencyMs;
  const lines = [
    `${report.title}${report.tls ? " [TLS]" : ""}${rounds > 1 ? ` (round ${report.round})` : ""}: ${report.cyclesPerSecond.toFixed(0)} cycles/s (${report.cycles} in ${(
      report.windowMs / 1000
    ).toFixed(1)} s)`,
    `  cycle latency ms: p50 ${ms(latency?.p50)}  p90 ${ms(latency?.p90)}  p99 ${ms(
      latency?.p99,
    )}  max ${ms(latency?.max)}  mean ${ms(latency?.mean)}`,
    `  acquire wait ms: p50 ${ms(report.waitMs?.p50)}  p99 ${ms(report.waitMs?.p99)}; most holders of one key at once: ${report.holdersMax} (at most ${report.permits ?? 1})`,
    ...(report.handoffMs === null
      ? []
      : [
          `  handoff ms (release issued → next waiter's lock() resolves): p50 ${ms(report.handoffMs.p50)}  p90 ${ms(report.handoffMs.p90)}  p99 ${ms(report.handoffMs.p99)}  max ${ms(report.handoffMs.max)}  mean ${ms(report.handoffMs.mean)}`,
        ]),
    `  CPU: ${report.nodes
      .map((n) => `${n.id}${n.role === "leader" ? " (leader)" : ""} ${percent(n.cpuPercent)}`)
      .join(", ")}, clients ${percent(report.clientCpuPercent)}; fsyncs/s: ${report.nodes
      .map(
        (n) =>
          `${n.id} ${n.fsyncsPerSecond === null ? "?" : n.fsyncsPerSecond.toFixed(0)}` +
          (n.fsyncMeanMs === null ? "" : ` (${n.fsyncMeanMs.toFixed(2)} ms)`),
      )
      .join(", ")}; load average ${report.loadAverage.toFixed(1)}`,
    ...cpuSplitLine(report),
    ...clientLimitsLine(report.nodes),
    `  peer frames/s (messages/s): ${report.nodes
      .map(
        (n) =>
          `${n.id} ${n.peerFramesPerSecond === null ? "?" : n.peerFramesPerSecond.toFixed(0)}` +
          ` (${n.peerMessagesPerSecond === null ? "?" : n.peerMessagesPerSecond.toFixed(0)})`,
      )
      .join(", ")}`,
  ];
  if (report.errors > 0) {
    lines.push(`  errors: ${report.errors} (${report.errorSamples.join("; ")})`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A client-port limit (request rate, in-flight, backlog) acting in a window means the figures are
 * the limit's, not the server's speed: said loudly, never silently (issue #13's own-key figure fell
 * to a fifth behind a per-connection rate nobody saw).
 */
function clientLimitsLine(nodes: readonly NodeUsage[]): string[] {
  if (!nodes.some((n) => (n.clientLimited ?? 0) > 0)) return [];
  const counts = nodes.map((n) => `${n.id} ${n.clientLimited ?? "?"}`).join(", ");
  return [`  CLIENT LIMITS APPLIED (the figures are the limits', not the servers'): ${counts}`];
}

function formatFailover(report: FailoverReport): string {
  const summary = report.summaryMs;
  const figures =
    summary === null
      ? "no round completed"
      : `p50 ${summary.p50.toFixed(0)} ms, max ${summary.max.toFixed(0)} ms over ${report.failoverMs.length} round(s)`;
  const errors = report.errors.length === 0 ? "" : `; errors: ${report.errors.join("; ")}`;
  return `election fail-over, ${report.kill} kill (TTL ${report.ttl}): kill to the next leader's campaign() ${figures}${errors}\n`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`pnpm bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
