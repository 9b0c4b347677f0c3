import type { Message, NodeId } from "@dlock/raft";
import pino from "pino";
import { afterEach, beforeEach } from "vitest";
import { LockStateMachine, encodeCommand } from "../../src/lock/index.js";
import type { LockResult } from "../../src/lock/index.js";
import { lockStateMachineAdapter } from "../../src/host/lock-state-machine-adapter.js";
import { RaftHost } from "../../src/host/raft-host.js";
import type { RaftHostOptions } from "../../src/host/options.js";
import type { PeerTransport } from "../../src/host/interfaces.js";
import { NODE_SCHEDULER } from "../../src/host/node-edges.js";
import type { HostScheduler } from "../../src/host/scheduler.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import type { StorageOpenOptions } from "../../src/storage/level-storage.js";
import { tempDir } from "../storage/helpers.js";

/** Delivers messages between hosts in one process, asynchronously; a node can be cut off. */
export class MemoryNetwork {
  private readonly handlers = new Map<NodeId, (message: Message) => void>();
  private readonly down = new Set<NodeId>();
  delivered = 0;

  transport(id: NodeId): PeerTransport {
    return {
      send: (messages) => {
        if (this.down.has(id)) return;
        for (const message of messages) {
          setImmediate(() => {
            if (this.down.has(message.to) || this.down.has(message.from)) return;
            const handler = this.handlers.get(message.to);
            if (handler === undefined) return;
            this.delivered++;
            handler(message);
          });
        }
      },
      onMessage: (handler) => {
        this.handlers.set(id, handler);
        return () => {
          if (this.handlers.get(id) === handler) this.handlers.delete(id);
        };
      },
    };
  }

  isolate(id: NodeId): void {
    this.down.add(id);
  }

  heal(id: NodeId): void {
    this.down.delete(id);
  }
}

/** Records every send() call of each node: which peer got which messages in it. */
export class RecordingNetwork extends MemoryNetwork {
  readonly calls: { from: NodeId; messages: Message[] }[] = [];
  override transport(id: NodeId): PeerTransport {
    const inner = super.transport(id);
    return {
      send: (messages) => {
        this.calls.push({ from: id, messages: [...messages] });
        inner.send(messages);
      },
      onMessage: (handler) => inner.onMessage(handler),
    };
  }
}

export const TICK_MS = 10;
export const ELECTION_TICKS = 10;

export const silentLogger = pino({ level: "silent" });

export interface TestNode {
  id: NodeId;
  host: RaftHost<LockResult>;
  table: LockStateMachine;
  storage: LevelStorage;
}

export async function startNode(
  network: MemoryNetwork,
  id: NodeId,
  dataDir: string,
  voters: NodeId[],
  extra: Partial<RaftHostOptions<LockResult>> &
    Partial<
      Pick<
        StorageOpenOptions,
        "writeFault" | "fsync" | "stagingWriteDelay" | "stagingBacklogBytesMax"
      >
    > = {},
): Promise<TestNode> {
  const { writeFault, fsync, stagingWriteDelay, stagingBacklogBytesMax, ...hostExtra } = extra;
  const storage = await LevelStorage.open({
    dataDir,
    clusterId: "test-cluster",
    nodeId: id,
    initialMembers: { voters, learners: [], peerAddresses: {} },
    writeFault,
    fsync,
    stagingWriteDelay,
    stagingBacklogBytesMax,
  });
  const table = new LockStateMachine({ limits: { electionTimeoutMs: TICK_MS * ELECTION_TICKS } });
  const host = await RaftHost.start<LockResult>({
    id,
    storage,
    transport: network.transport(id),
    stateMachine: lockStateMachineAdapter(table),
    logger: silentLogger,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    ...hostExtra,
  });
  return { id, host, table, storage };
}

/** Polls `condition` every few ms until it holds, or fails after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function leaderOf(nodes: readonly TestNode[]): TestNode | undefined {
  return nodes.find((n) => n.host.healthy() && n.host.status().role === "leader");
}

/** A proposal's bytes: acquire `key` with a 60 s TTL and no wait. */
export const acquireCommand = (key: string): Uint8Array =>
  encodeCommand({
    type: "acquire",
    key,
    value: "v",
    ttlMs: 60_000,
    waitMs: 0,
    lockDelayMs: 0,
    requestId: 1,
  });

/**
 * Node's scheduler, except that repeating timers (the hosts' ticks) do nothing while
 * `ticks.on` is false: no heartbeat round, election or check-quorum step-down happens then.
 */
export function pausableTicks(): { scheduler: HostScheduler; ticks: { on: boolean } } {
  const ticks = { on: true };
  const scheduler: HostScheduler = {
    ...NODE_SCHEDULER,
    setRepeating: (callback, periodMs) =>
      NODE_SCHEDULER.setRepeating(() => {
        if (ticks.on) callback();
      }, periodMs),
  };
  return { scheduler, ticks };
}

/** Three hosts on pausable ticks (pausableTicks), in a fresh folder for each test. */
export interface PausableCluster {
  readonly ticks: { on: boolean };
  /** The hosts the running test started (stopped after it). */
  readonly nodes: readonly TestNode[];
  /** Lets go of what the test holds back (a gated write), before the hosts stop; set by it. */
  release: () => void;
  /** Starts n1..n3 on `network` with ticks on, and returns the leader they elect. */
  start(network: MemoryNetwork): Promise<TestNode>;
}

/**
 * Registers the lifecycle of a describe block whose tests hold writes or messages back with
 * ticks off: each test gets a fresh folder and ticks on; after it, ticks go on again, what it
 * held is released, and its hosts stop before the folder goes.
 */
export function pausableCluster(folderPrefix: string): PausableCluster {
  const ids = ["n1", "n2", "n3"];
  const { scheduler, ticks } = pausableTicks();
  let root = "";
  let cleanup = async (): Promise<void> => {};
  let nodes: TestNode[] = [];
  const cluster: PausableCluster = {
    ticks,
    get nodes() {
      return nodes;
    },
    release: () => {},
    async start(network) {
      nodes = await Promise.all(
        ids.map((id) => startNode(network, id, `${root}/${id}`, ids, { scheduler })),
      );
      await waitFor("a leader", () => leaderOf(nodes) !== undefined);
      return leaderOf(nodes) as TestNode;
    },
  };
  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir(folderPrefix));
    ticks.on = true;
  });
  afterEach(async () => {
    ticks.on = true;
    cluster.release();
    cluster.release = () => {};
    await Promise.all(nodes.map((n) => n.host.stop()));
    nodes = [];
    await cleanup();
  });
  return cluster;
}
