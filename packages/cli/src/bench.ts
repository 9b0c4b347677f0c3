#!/usr/bin/env node
// `pnpm bench`: starts a local three-node cluster (real `dlock server` processes, fsync on) in a
// temporary folder and measures acquire+release cycles per second and cycle latency for
// (a) 64 clients on distinct keys, (b) 16 clients on one key, queued with `wait` (the FIFO
// handoff), (c) one client serially. Flags: --duration (per scenario, default 10s), --warmup
// (default 1s), --scenario distinct|one-key|serial (repeatable; default all), --dir (where the
// data folder goes; default the system's temporary folder), --json, --tls (the same scenarios
// again on a second cluster with TLS and mutual TLS, to show what TLS costs).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "@dlock/client";
import type { ClientTlsOptions } from "@dlock/client";
import { LocalCluster } from "./local-cluster.js";
import { sampleNodes, usageBetween } from "./bench/node-sample.js";
import type { NodeSample, NodeUsage } from "./bench/node-sample.js";
import { runScenario } from "./bench/scenario.js";
import type { ScenarioOutcome, ScenarioSpec } from "./bench/scenario.js";
import { probeSyncedWriteMs, processCpuMs } from "./bench/stats.js";

const TTL = "30s";

const SCENARIOS: readonly ScenarioSpec[] = [
  {
    name: "distinct",
    title: "64 clients, distinct keys",
    clients: 64,
    keyOf: (index) => `bench/distinct/${index}`,
    options: { ttl: TTL },
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
];

interface ScenarioReport extends ScenarioOutcome {
  name: string;
  /** Whether the cluster and the clients spoke TLS (mutual TLS between the nodes). */
  tls: boolean;
  title: string;
  clients: number;
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
      dir: { type: "string" },
      scenario: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      tls: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const durationMs = parseDuration(values.duration, "--duration");
  const warmupMs = parseDuration(values.warmup, "--warmup");
  if (durationMs < 100) throw new UsageError("--duration must be at least 100ms");
  const names = (values.scenario ?? []).flatMap((s) => s.split(","));
  for (const name of names) {
    if (!SCENARIOS.some((s) => s.name === name)) {
      throw new UsageError(
        `--scenario ${name}: unknown (choose from ${SCENARIOS.map((s) => s.name).join(", ")})`,
      );
    }
  }
  const scenarios =
    names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  return {
    durationMs,
    warmupMs,
    scenarios,
    dir: values.dir ?? tmpdir(),
    json: values.json,
    tls: values.tls,
    help: values.help,
  };
}

const HELP = `usage: pnpm bench [--duration 10s] [--warmup 1s] [--scenario distinct|one-key|serial]...
                  [--dir FOLDER] [--json] [--tls]

Starts a local three-node dlock cluster (fsync on) in a temporary folder and measures
acquire+release cycles per second and cycle latency (p50/p90/p99/max) per scenario:
  distinct  64 clients, each on its own key
  one-key   16 clients on one key, queued with wait (measures the FIFO handoff)
  serial    one client, one cycle at a time
The nodes' data goes in a new folder under --dir (default: the system's temporary folder), removed
at the end; the disk's synced-write latency is measured there first, since it bounds every commit.
With --tls the scenarios run again on a second cluster with TLS to the clients and mutual TLS
between the nodes (certificates from dlock certs), and the TLS/plain ratios are printed.
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
  const syncedWriteMs = probeSyncedWriteMs(root);
  const reports: ScenarioReport[] = [];
  let nodeCount = 0;
  try {
    for (const tls of flags.tls ? [false, true] : [false]) {
      nodeCount = await runCluster(join(root, tls ? "tls" : "plain"), tls, flags, log, reports);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  if (flags.tls) {
    log("TLS / plain:");
    for (const plain of reports.filter((report) => !report.tls)) {
      const secure = reports.find((report) => report.tls && report.name === plain.name);
      if (secure === undefined) continue;
      const p50 = (report: ScenarioReport) => report.latencyMs?.p50 ?? Number.NaN;
      log(
        `  ${plain.title}: cycles/s ${plain.cyclesPerSecond.toFixed(0)} -> ${secure.cyclesPerSecond.toFixed(0)} ` +
          `(x${(secure.cyclesPerSecond / plain.cyclesPerSecond).toFixed(2)}), p50 ms ` +
          `${p50(plain).toFixed(2)} -> ${p50(secure).toFixed(2)} (x${(p50(secure) / p50(plain)).toFixed(2)})`,
      );
    }
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({
        cluster: { nodes: nodeCount, fsync: true, serverOptions: "defaults" },
        machine: { cpus: availableParallelism(), syncedWriteMs },
        durationMs: flags.durationMs,
        warmupMs: flags.warmupMs,
        scenarios: reports,
      })}\n`,
    );
  }
  return reports.some((r) => r.cycles === 0) ? 1 : 0;
}

/** Starts a cluster under `root` (with TLS or not), runs every scenario on it, stops it. */
async function runCluster(
  root: string,
  tls: boolean,
  flags: ReturnType<typeof parseFlags>,
  log: (line: string) => void,
  reports: ScenarioReport[],
): Promise<number> {
  let certsDir: string | null = null;
  let clientTls: ClientTlsOptions | null = null;
  if (tls) {
    certsDir = join(root, "certs");
    const { writeDevCertificates } = await import("./certs/dev-certificates.js");
    await writeDevCertificates({ dir: certsDir, nodes: ["n1", "n2", "n3"] });
    clientTls = { ca: await readFile(join(certsDir, "ca.pem")) };
  }
  const cluster = await LocalCluster.start({
    root,
    fsync: true,
    clusterId: "dlock-bench",
    ...(certsDir === null ? {} : { tlsCertsDir: certsDir }),
  });
  try {
    const leader = await cluster.waitForLeader(60_000);
    await cluster.waitForReady(60_000);
    log(
      `dlock bench: 3 dlock server processes on loopback, fsync on, ${tls ? "TLS (mutual between nodes)" : "plain TCP"}, data in ${root}; leader ${leader}`,
    );
    log(
      `disk: a small synced write (write + fdatasync) takes ${probeSyncedWriteMs(root).toFixed(2)} ms (median); ` +
        `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs`,
    );
    log(`${flags.durationMs} ms per scenario after a ${flags.warmupMs} ms warm-up\n`);
    for (const spec of flags.scenarios) {
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
        clientTls,
      );
      const report: ScenarioReport = {
        name: spec.name,
        tls,
        title: spec.title,
        clients: spec.clients,
        ...outcome,
        nodes: usageBetween(before, after, outcome.windowMs),
        clientCpuPercent:
          clientCpuBefore === null || clientCpuAfter === null
            ? null
            : ((clientCpuAfter - clientCpuBefore) * 100) / outcome.windowMs,
        loadAverage: loadavg()[0],
      };
      reports.push(report);
      log(formatReport(report));
    }
  } finally {
    await cluster.stop();
  }
  return cluster.nodes.length;
}

function formatReport(report: ScenarioReport): string {
  const ms = (value: number | undefined) => (value === undefined ? "-" : value.toFixed(2));
  const percent = (value: number | null) => (value === null ? "?" : `${value.toFixed(0)}%`);
  const latency = report.latencyMs;
  const lines = [
    `${report.title}${report.tls ? " [TLS]" : ""}: ${report.cyclesPerSecond.toFixed(0)} cycles/s (${report.cycles} in ${(
      report.windowMs / 1000
    ).toFixed(1)} s)`,
    `  cycle latency ms: p50 ${ms(latency?.p50)}  p90 ${ms(latency?.p90)}  p99 ${ms(
      latency?.p99,
    )}  max ${ms(latency?.max)}  mean ${ms(latency?.mean)}`,
    `  CPU: ${report.nodes
      .map((n) => `${n.id}${n.role === "leader" ? " (leader)" : ""} ${percent(n.cpuPercent)}`)
      .join(", ")}, clients ${percent(report.clientCpuPercent)}; fsyncs/s: ${report.nodes
      .map(
        (n) =>
          `${n.id} ${n.fsyncsPerSecond === null ? "?" : n.fsyncsPerSecond.toFixed(0)}` +
          (n.fsyncMeanMs === null ? "" : ` (${n.fsyncMeanMs.toFixed(2)} ms)`),
      )
      .join(", ")}; load average ${report.loadAverage.toFixed(1)}`,
  ];
  if (report.errors > 0) {
    lines.push(`  errors: ${report.errors} (${report.errorSamples.join("; ")})`);
  }
  return `${lines.join("\n")}\n`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`pnpm bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
