// A cluster of real `dlock server` processes on loopback: what `pnpm start`, `pnpm bench` and the
// real-process tests run. Each node is a child process of this one, with its data folder and its
// log file under one root folder; nodes can be killed, paused, resumed and restarted.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AdminStatus } from "@dlock/server";
import { pollUntil } from "./poll-until.js";

/**
 * The built `dlock` command, packages/cli/dist/bin.js, found from this file whether it runs from
 * tools/src (in vitest) or tools/dist: these tools drive the command exactly as an operator
 * would, so they run the real entry point and never import the CLI's code.
 */
export const DLOCK_BIN = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "cli",
  "dist",
  "bin.js",
);

export interface LocalClusterOptions {
  /** Folder holding one data folder and one log file per node; reused if it exists. */
  root: string;
  /** Number of nodes (3 by default). */
  nodes?: number;
  clusterId?: string;
  /**
   * First client, peer and admin ports; node i gets base + i. "auto" picks free ports (tests).
   * Default "auto".
   */
  ports?: LocalNodePorts | readonly LocalNodePorts[] | "auto";
  /**
   * The --cluster list one node is started with (default: every node's real peer address). The
   * chaos runner points each node at fault proxies in front of its peers this way.
   */
  clusterListFor?: (node: LocalNode, nodes: readonly LocalNode[]) => string;
  /** The address clients are redirected to when `node` leads (default: its client address). */
  advertiseClientFor?: (node: LocalNode) => string;
  fsync?: boolean;
  tickMs?: number;
  electionTicks?: number;
  /** Extra `dlock server` flags for every node. */
  extraArgs?: readonly string[];
  /**
   * A folder written by `dlock certs init` holding ca.pem and <id>.pem/<id>-key.pem per node: the
   * nodes then run TLS on the client port and mutual TLS between peers. Default: plain TCP.
   */
  tlsCertsDir?: string;
  logLevel?: string;
  /** Where the node's stdout/stderr go: a file per node under root (default) or this process. */
  output?: "files" | "inherit";
  /**
   * Where the other nodes reach a node (its address in --cluster), when that is not where it
   * listens: a fault-injecting proxy in front of its peer port.
   */
  advertisedPeerAddresses?: Record<string, string>;
  /**
   * The `dlock` entry point to run (default DLOCK_BIN, the built packages/cli/dist/bin.js).
   */
  bin?: string;
  /** Flags for node itself, before the entry point (e.g. --cpu-prof to profile every server). */
  nodeArgs?: readonly string[];
  /** Environment variables for every node, over this process's own. */
  env?: Readonly<Record<string, string>>;
}

export interface LocalNodePorts {
  client: number;
  peer: number;
  http: number;
}

export interface LocalNode {
  id: string;
  dataDir: string;
  logFile: string;
  clientAddress: string;
  peerAddress: string;
  httpAddress: string;
  /** The running process, or null while stopped. */
  process: ChildProcess | null;
}

/** /status of one node (the admin port's JSON). */
export type LocalNodeStatus = AdminStatus;

export class LocalClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalClusterError";
  }
}

const HOST = "127.0.0.1";

export class LocalCluster {
  /** Every cluster this process started, so a signal handler can stop them all (stopAll). */
  private static readonly started = new Set<LocalCluster>();
  readonly nodes: LocalNode[];
  readonly root: string;
  /** Flags of every node but --cluster (see clusterLists). */
  private readonly args: string[];
  /** The --cluster value each node was started with (nodes added later list the members then). */
  private readonly clusterLists = new Map<string, string>();
  private readonly ports: LocalClusterOptions["ports"];
  private readonly output: "files" | "inherit";
  private readonly bin: string;
  private readonly nodeArgv: readonly string[];
  private readonly env: Readonly<Record<string, string>>;
  private readonly exits = new Map<string, Promise<number | null>>();
  /** Per-node flags beyond --cluster (--advertise-client). */
  private readonly nodeArgs = new Map<string, string[]>();
  /** The certificates folder of a TLS cluster (a node added later needs its <id>.pem there). */
  private tlsCertsDir: string | null = null;

  private constructor(
    root: string,
    nodes: LocalNode[],
    args: string[],
    output: "files" | "inherit",
    bin: string,
    ports: LocalClusterOptions["ports"],
    nodeArgv: readonly string[] = [],
    env: Readonly<Record<string, string>> = {},
  ) {
    this.nodeArgv = nodeArgv;
    this.env = env;
    this.root = root;
    this.nodes = nodes;
    this.args = args;
    this.output = output;
    this.bin = bin;
    this.ports = ports;
  }

  /** Starts every node (does not wait for a leader: see waitForLeader / waitForReady). */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const count = options.nodes ?? 3;
    const ports = options.ports ?? "auto";
    const nodes: LocalNode[] = [];
    const autoPorts = ports === "auto" ? await freePorts(3 * count) : [];
    for (let i = 0; i < count; i++) {
      const id = `n${i + 1}`;
      const [client, peer, http] = autoPorts.slice(3 * i, 3 * i + 3);
      const nodePorts =
        ports === "auto"
          ? { client: portOrThrow(client), peer: portOrThrow(peer), http: portOrThrow(http) }
          : portsAt(ports, i, id);
      nodes.push(localNode(options.root, id, nodePorts));
    }
    const args = ["--cluster-id", options.clusterId ?? "dlock-local"];
    if (options.fsync === false) args.push("--no-fsync");
    if (options.tickMs !== undefined) args.push("--tick", `${options.tickMs}ms`);
    if (options.electionTicks !== undefined) {
      args.push("--election-ticks", String(options.electionTicks));
    }
    if (options.logLevel !== undefined) args.push("--log-level", options.logLevel);
    args.push(...(options.extraArgs ?? []));
    await mkdir(options.root, { recursive: true });
    const cluster = new LocalCluster(
      options.root,
      nodes,
      args,
      options.output ?? "files",
      options.bin ?? DLOCK_BIN,
      ports,
      options.nodeArgs,
      options.env,
    );
    const clusterListFor =
      options.clusterListFor ??
      ((_node: LocalNode, all: readonly LocalNode[]) =>
        all
          .map((n) => `${n.id}=${options.advertisedPeerAddresses?.[n.id] ?? n.peerAddress}`)
          .join(","));
    cluster.tlsCertsDir = options.tlsCertsDir ?? null;
    for (const node of nodes) {
      cluster.clusterLists.set(node.id, clusterListFor(node, nodes));
      const nodeArgs: string[] = [];
      if (options.advertiseClientFor !== undefined) {
        nodeArgs.push("--advertise-client", options.advertiseClientFor(node));
      }
      if (options.tlsCertsDir !== undefined)
        nodeArgs.push(...tlsArgs(options.tlsCertsDir, node.id));
      if (nodeArgs.length > 0) cluster.nodeArgs.set(node.id, nodeArgs);
    }
    for (const node of nodes) cluster.spawnNode(node);
    LocalCluster.started.add(cluster);
    return cluster;
  }

  /**
   * Stops every node of every cluster this process started (e.g. when the process is told to
   * end: its servers must not outlive it).
   */
  static async stopAll(graceMs = 15_000): Promise<void> {
    await Promise.all([...LocalCluster.started].map((cluster) => cluster.stop(graceMs)));
  }

  /** Client endpoints of every node, in node order. */
  endpoints(): string[] {
    return this.nodes.map((n) => n.clientAddress);
  }

  node(id: string): LocalNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new LocalClusterError(`no node ${id}`);
    return node;
  }

  /** Starts a stopped node again with the same flags (plus `extraArgs`) and data folder. */
  restart(id: string, extraArgs: readonly string[] = []): void {
    const node = this.node(id);
    if (node.process !== null) throw new LocalClusterError(`${id} is still running`);
    this.spawnNode(node, extraArgs);
  }

  /**
   * Starts a new node `id` that joins the running cluster (`dlock server --join`, listing every
   * node known here and itself): it serves nobody until `dlock member add` adds it.
   */
  async addNode(id: string, extraArgs: readonly string[] = []): Promise<LocalNode> {
    if (this.nodes.some((n) => n.id === id)) throw new LocalClusterError(`${id} exists already`);
    const index = this.nodes.length;
    const ports = this.ports ?? "auto";
    const nodePorts =
      ports === "auto"
        ? { client: await freePort(), peer: await freePort(), http: await freePort() }
        : portsAt(ports, index, id);
    const node = localNode(this.root, id, nodePorts);
    this.nodes.push(node);
    const initial = this.clusterLists.get(this.nodes[0]!.id) as string; // node was just pushed
    const advertised = new Map(
      initial.split(",").map((item) => item.split("=") as [string, string]),
    );
    this.clusterLists.set(
      id,
      this.nodes.map((n) => `${n.id}=${advertised.get(n.id) ?? n.peerAddress}`).join(","),
    );
    if (this.tlsCertsDir !== null) this.nodeArgs.set(id, tlsArgs(this.tlsCertsDir, id));
    this.spawnNode(node, ["--join", ...extraArgs]);
    return node;
  }

  /** Deletes a stopped node's data folder (a lost disk). */
  async wipe(id: string): Promise<void> {
    const node = this.node(id);
    if (node.process !== null) throw new LocalClusterError(`${id} is still running`);
    await rm(node.dataDir, { recursive: true, force: true });
  }

  /** Sends `signal` and, unless it is SIGSTOP/SIGCONT, waits for the process to exit. */
  async kill(id: string, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    const node = this.node(id);
    const child = node.process;
    if (child === null) return null;
    child.kill(signal);
    return (await this.exits.get(id)) ?? null;
  }

  /** Sends `signal` without waiting (e.g. SIGHUP: reload the TLS files). */
  signal(id: string, signal: NodeJS.Signals): void {
    this.node(id).process?.kill(signal);
  }

  /** SIGSTOP: the process keeps its sockets open but answers nothing (a long GC pause, a VM freeze). */
  pause(id: string): void {
    this.node(id).process?.kill("SIGSTOP");
  }

  resume(id: string): void {
    this.node(id).process?.kill("SIGCONT");
  }

  /** The node's /status, or null if it does not answer. */
  async status(id: string, timeoutMs = 2_000): Promise<LocalNodeStatus | null> {
    try {
      const response = await fetch(`http://${this.node(id).httpAddress}/status`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) return null;
      return (await response.json()) as LocalNodeStatus;
    } catch {
      return null;
    }
  }

  /**
   * Waits until the running nodes agree on one leader that says it leads; returns its id.
   * `among` limits the nodes asked (e.g. the survivors after a kill).
   */
  async waitForLeader(timeoutMs = 30_000, among?: readonly string[]): Promise<string> {
    const ids = among ?? this.nodes.filter((n) => n.process !== null).map((n) => n.id);
    return this.until(timeoutMs, "a leader that every running node agrees on", async () => {
      const statuses = await Promise.all(ids.map((id) => this.status(id)));
      if (statuses.some((s) => s === null)) return null;
      const leaders = new Set(statuses.map((s) => s?.leader ?? null));
      if (leaders.size !== 1) return null;
      const [leader = null] = leaders;
      if (leader === null) return null;
      const leaderStatus = statuses.find((s) => s?.nodeId === leader);
      return leaderStatus?.role === "leader" ? leader : null;
    });
  }

  /** Waits until every running node (or `among`) reports /readyz 200. */
  async waitForReady(timeoutMs = 30_000, among?: readonly string[]): Promise<void> {
    const ids = among ?? this.nodes.filter((n) => n.process !== null).map((n) => n.id);
    await this.until(timeoutMs, `${ids.join(", ")} ready (/readyz)`, async () => {
      const answers = await Promise.all(
        ids.map(async (id) => {
          try {
            const response = await fetch(`http://${this.node(id).httpAddress}/readyz`, {
              signal: AbortSignal.timeout(2_000),
            });
            await response.body?.cancel();
            return response.status === 200;
          } catch {
            return false;
          }
        }),
      );
      return answers.every(Boolean) ? true : null;
    });
  }

  /**
   * SIGTERM to every running node (graceful), then SIGKILL after `graceMs`. Followers go first,
   * then the leader, which finds no follower left to hand leadership to and stops at once
   * (handing it to a follower that is stopping too would only wait out the transfer timeout).
   */
  async stop(graceMs = 15_000): Promise<void> {
    const running = this.nodes.filter((n) => n.process !== null);
    const statuses = await Promise.all(running.map((n) => this.status(n.id, 500)));
    const leader = statuses.find((s) => s?.role === "leader")?.nodeId;
    await Promise.all(
      this.nodes.filter((n) => n.id !== leader).map((node) => this.terminate(node, graceMs)),
    );
    if (leader !== undefined) await this.terminate(this.node(leader), graceMs);
  }

  private async terminate(node: LocalNode, graceMs: number): Promise<void> {
    const child = node.process;
    if (child === null) return;
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.kill("SIGCONT"); // A paused node cannot handle SIGTERM.
    child.kill("SIGTERM");
    await this.exits.get(node.id);
    clearTimeout(timer);
  }

  private spawnNode(node: LocalNode, extraArgs: readonly string[] = []): void {
    const child = spawn(
      process.execPath,
      [
        ...this.nodeArgv,
        this.bin,
        "server",
        "--id",
        node.id,
        "--data",
        node.dataDir,
        "--client",
        node.clientAddress,
        "--peer",
        node.peerAddress,
        "--http",
        node.httpAddress,
        "--cluster",
        this.clusterLists.get(node.id) as string,
        ...(this.nodeArgs.get(node.id) ?? []),
        ...this.args,
        ...extraArgs,
      ],
      {
        env: { ...process.env, ...this.env },
        stdio: this.output === "inherit" ? "inherit" : ["ignore", "pipe", "pipe"],
      },
    );
    if (this.output === "files") {
      const log = createWriteStream(node.logFile, { flags: "a" });
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      child.once("close", () => log.end());
    }
    node.process = child;
    this.exits.set(
      node.id,
      new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          if (node.process === child) node.process = null;
          resolve(code ?? (signal !== null ? 128 : null));
        });
      }),
    );
  }

  private until<T>(timeoutMs: number, what: string, probe: () => Promise<T | null>): Promise<T> {
    return pollUntil(probe, {
      timeoutMs,
      intervalMs: 100,
      timedOut: () =>
        new LocalClusterError(
          `timed out after ${timeoutMs} ms waiting for ${what}; node logs are in ${this.root}`,
        ),
    });
  }
}

/** The `dlock server` flags for node `id`'s certificate in a `dlock certs init` folder. */
export function tlsArgs(dir: string, id: string): string[] {
  return [
    "--tls-cert",
    join(dir, `${id}.pem`),
    "--tls-key",
    join(dir, `${id}-key.pem`),
    "--tls-ca",
    join(dir, "ca.pem"),
  ];
}

/** Node `id`'s folder, log file and addresses under `root`; not started. */
function localNode(root: string, id: string, ports: LocalNodePorts): LocalNode {
  return {
    id,
    dataDir: join(root, id),
    logFile: join(root, `${id}.log`),
    clientAddress: `${HOST}:${ports.client}`,
    peerAddress: `${HOST}:${ports.peer}`,
    httpAddress: `${HOST}:${ports.http}`,
    process: null,
  };
}

function isPortList(
  ports: LocalNodePorts | readonly LocalNodePorts[],
): ports is readonly LocalNodePorts[] {
  return Array.isArray(ports);
}

/** The ports of the node at `index`: listed, or counted up from the base ports. */
function portsAt(
  ports: LocalNodePorts | readonly LocalNodePorts[],
  index: number,
  id: string,
): LocalNodePorts {
  if (!isPortList(ports)) {
    return { client: ports.client + index, peer: ports.peer + index, http: ports.http + index };
  }
  const listed = ports[index];
  if (listed === undefined) throw new LocalClusterError(`no ports listed for node ${id}`);
  return listed;
}

function portOrThrow(port: number | undefined): number {
  if (port === undefined) throw new LocalClusterError("freePorts gave fewer ports than asked");
  return port;
}

/** A port that was free a moment ago (bound to 0, then closed). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return portOrThrow(port);
}

/** `count` distinct ports that were free a moment ago (all bound at once, then closed). */
export async function freePorts(count: number): Promise<number[]> {
  const reservation = await reservePorts(count);
  await reservation.release();
  return reservation.ports;
}

/**
 * Holds `count` distinct free ports until `release()`: while held, nothing else on this machine
 * (a proxy that binds port 0, say) can be given one of them.
 */
export async function reservePorts(
  count: number,
): Promise<{ ports: number[]; release(): Promise<void> }> {
  const servers: Server[] = [];
  const release = () =>
    Promise.all(
      servers.map((server) => new Promise<void>((done) => server.close(() => done()))),
    ).then(() => undefined);
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, HOST, () => {
            const address = server.address();
            if (address !== null && typeof address === "object") resolve(address.port);
            else reject(new LocalClusterError("could not find a free port"));
          });
        }),
      );
    }
    return { ports, release };
  } catch (error) {
    await release();
    throw error;
  }
}
