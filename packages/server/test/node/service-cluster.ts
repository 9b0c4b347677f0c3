import type { ClientRequestContext } from "../../src/client-server/client-request-handler.js";
// LockService over the production RaftHost: three hosts on MemoryHostStorage and an in-memory
// network, whose ticks and timers, and the service's, run on one virtual clock that moves only
// in advance(). Work that takes no time (deferred Ready processing, message delivery, storage
// writes) runs on its own; settle() waits until none is left.
import type { Message, NodeId } from "@dlock/raft";
import type { PeerTransport } from "../../src/host/interfaces.js";
import { lockStateMachineAdapter } from "../../src/host/lock-state-machine-adapter.js";
import { RaftHost } from "../../src/host/raft-host.js";
import type { HostScheduler } from "../../src/host/scheduler.js";
import { LeaseManager, LockStateMachine, decodeCommand } from "../../src/lock/index.js";
import type { LockCommand, LockResult } from "../../src/lock/index.js";
import { LockService } from "../../src/node/lock-service.js";
import type { LockServiceHost, ServiceTimers } from "../../src/node/lock-service.js";
import type { LockServicePlantedBugs } from "../../src/internal.js";
import { withPlantedServiceBugs } from "../../src/internal.js";
import { MemoryHostStorage } from "../../src/storage/memory-host-storage.js";
import { MemoryNetwork, silentLogger } from "../host/cluster.js";

const TICK_MS = 20;
const ELECTION_TICKS = 10;
/** The hosts' election timeout; the lock table's TTL floor is measured in it. */
const ELECTION_TIMEOUT_MS = TICK_MS * ELECTION_TICKS;
export const TTL_MS = 1_000;
const IDS: readonly NodeId[] = ["n1", "n2", "n3"];
/** Turns of the event loop settle() waits at most: Raft never chats without a tick. */
const SETTLE_TURNS_MAX = 10_000;
/** Virtual time until() waits at most for a condition. */
const UNTIL_MS_MAX = 100 * ELECTION_TIMEOUT_MS;

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  /** Repeats every periodMs, or fires once (null). */
  periodMs: number | null;
}

/** Virtual time: timers fire only inside advance(), in time order, with settle() after each. */
export class VirtualClock implements ServiceTimers {
  now = 1_000;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  constructor(private readonly settle: () => Promise<void>) {}

  set(callback: () => void, delayMs: number): unknown {
    return this.add(callback, delayMs, null);
  }

  every(callback: () => void, periodMs: number): unknown {
    return this.add(callback, periodMs, periodMs);
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  /** Moves time forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      let next: Timer | null = null;
      for (const timer of this.timers) {
        if (timer.at > end) continue;
        if (next === null || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))
          next = timer;
      }
      if (next === null) break;
      this.timers.delete(next);
      this.now = Math.max(this.now, next.at);
      if (next.periodMs !== null) this.add(next.callback, next.periodMs, next.periodMs);
      next.callback();
      await this.settle();
    }
    this.now = end;
    await this.settle();
  }

  private add(callback: () => void, delayMs: number, periodMs: number | null): Timer {
    const timer = { at: this.now + delayMs, seq: this.seq++, callback, periodMs };
    this.timers.add(timer);
    return timer;
  }
}

/**
 * One host's scheduler on the shared clock. hold() stalls the host's own loop (ticks and deferred
 * Ready processing) while its core still takes messages: the core may change role before the
 * host, and so the service, hears of it.
 */
class NodeScheduler implements HostScheduler {
  deferredRuns = 0;
  private held: Array<() => void> | null = null;

  constructor(private readonly clock: VirtualClock) {}

  setRepeating(callback: () => void, periodMs: number): unknown {
    return this.clock.every(() => {
      if (this.held === null) callback();
    }, periodMs);
  }
  clearRepeating(handle: unknown): void {
    this.clock.clear(handle);
  }
  setTimer(callback: () => void, delayMs: number): unknown {
    return this.clock.set(callback, delayMs);
  }
  clearTimer(handle: unknown): void {
    this.clock.clear(handle);
  }
  defer(callback: () => void): void {
    setImmediate(() => {
      this.deferredRuns++;
      if (this.held !== null) this.held.push(callback);
      else callback();
    });
  }

  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const work = this.held ?? [];
    this.held = null;
    for (const callback of work) this.defer(callback);
  }
}

/** The service's view of its host, recording what the host accepted and what it refused. */
export class ObservedHost implements LockServiceHost {
  /** Commands the core accepted (it gave them a log index). */
  readonly proposed: LockCommand[] = [];
  /** Commands the host refused before giving them an index. */
  readonly refused: LockCommand[] = [];
  readIndexCalls = 0;

  constructor(readonly host: RaftHost<LockResult>) {}

  propose(data: Uint8Array, onProposed?: (index: number) => void): Promise<LockResult | undefined> {
    const command = decodeCommand(data);
    let accepted = false;
    const result = this.host.propose(data, (index) => {
      accepted = true;
      this.proposed.push(command);
      onProposed?.(index);
    });
    if (!accepted) this.refused.push(command);
    return result;
  }

  readIndex(): Promise<void> {
    this.readIndexCalls++;
    return this.host.readIndex();
  }

  onRoleChange: LockServiceHost["onRoleChange"] = (listener) => this.host.onRoleChange(listener);
  onApply: LockServiceHost["onApply"] = (listener) => this.host.onApply(listener);

  commands(type: LockCommand["type"]): LockCommand[] {
    return this.proposed.filter((c) => c.type === type);
  }
}

interface ClusterNode {
  host: RaftHost<LockResult>;
  table: LockStateMachine;
  scheduler: NodeScheduler;
}

export class ServiceCluster {
  readonly network = new MemoryNetwork();
  readonly clock = new VirtualClock(() => this.settle());
  readonly nodes = new Map<NodeId, ClusterNode>();
  /** A node's storage fails every write while its entry holds an error (a full disk). */
  private readonly writeFaults = new Map<NodeId, Error>();
  /** A node's writes wait for this promise (a stalled disk); see stallWrites(). */
  private readonly stalledWrites = new Map<NodeId, Promise<void>>();
  /** Called with every message a node sends, once the network has it. */
  private onSent: ((message: Message) => void) | null = null;

  /** Waits until no deferred work or message delivery is left. */
  async settle(): Promise<void> {
    for (let turn = 0; turn < SETTLE_TURNS_MAX; turn++) {
      const before = this.activity();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.activity() === before) return;
    }
    throw new Error(`the cluster did not settle within ${SETTLE_TURNS_MAX} turns`);
  }

  /** Advances time a tick at a time until `condition` holds; fails after UNTIL_MS_MAX. */
  async until(what: string, condition: () => boolean): Promise<void> {
    const deadline = this.clock.now + UNTIL_MS_MAX;
    while (!condition()) {
      if (this.clock.now >= deadline) throw new Error(`${what}: not within ${UNTIL_MS_MAX} ms`);
      await this.clock.advance(TICK_MS);
    }
  }

  node(id: NodeId): ClusterNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Starts n1..n3; `firstLeader` will campaign first (the others' election jitter is longest). */
  async start(firstLeader: NodeId): Promise<void> {
    for (const id of IDS) {
      const table = new LockStateMachine({ limits: { electionTimeoutMs: ELECTION_TIMEOUT_MS } });
      const scheduler = new NodeScheduler(this.clock);
      const storage = MemoryHostStorage.open({
        initialMembers: { voters: [...IDS], learners: [], peerAddresses: {} },
        writeFault: () => this.writeFaults.get(id),
      });
      const write = storage.write.bind(storage);
      // The host writes one batch at a time, so a held write keeps the order of the next ones.
      storage.write = async (writes) => {
        await this.stalledWrites.get(id);
        return write(writes);
      };
      const host = await RaftHost.start<LockResult>({
        id,
        storage,
        transport: this.transport(id),
        stateMachine: lockStateMachineAdapter(table),
        logger: silentLogger,
        tickMs: TICK_MS,
        electionTicks: ELECTION_TICKS,
        scheduler,
        now: () => this.clock.now,
        random: () => (id === firstLeader ? 0 : 0.999),
      });
      this.nodes.set(id, { host, table, scheduler });
    }
  }

  /** Advances time until every node follows `leader`. */
  async elected(leader: NodeId): Promise<void> {
    await this.until(`${leader} leads`, () => this.everyoneFollows(leader));
  }

  /** A real leadership transfer from the current leader to `to`, waited for everywhere. */
  async transfer(from: NodeId, to: NodeId): Promise<void> {
    const moved = this.node(from).host.transferLeadership(to);
    await this.settle();
    await moved;
    await this.elected(to);
  }

  /**
   * Moves leadership from n1 to `to` while n1's own loop is stalled from the moment it asks `to`
   * to campaign: n1's core follows `to` before n1's host (and service) hears. Returns the release.
   */
  async stepDownUnheard(to: NodeId): Promise<() => Promise<void>> {
    const n1 = this.node("n1");
    this.onSent = (message) => {
      if (message.from === "n1" && message.type === "timeoutNow") n1.scheduler.hold();
    };
    n1.host.transferLeadership(to).catch(() => undefined);
    await this.settle();
    await this.until(`n1's core follows ${to}`, () => n1.host.status().leader === to);
    this.onSent = null;
    return async () => {
      n1.scheduler.release();
      await this.settle();
    };
  }

  /** Fails every storage write of `id` with `error` from now on; undefined heals the disk. */
  failWrites(id: NodeId, error: Error | undefined): void {
    if (error === undefined) this.writeFaults.delete(id);
    else this.writeFaults.set(id, error);
  }

  /**
   * Holds every storage write of `id` (a disk stalled for a moment) while its host and network go
   * on: it keeps ticking and sending, but applies nothing it has not written. Returns the resume.
   */
  stallWrites(id: NodeId): () => Promise<void> {
    let resume = (): void => undefined;
    this.stalledWrites.set(id, new Promise<void>((resolve) => (resume = resolve)));
    return async () => {
      this.stalledWrites.delete(id);
      resume();
      await this.settle();
    };
  }

  /** Cuts `id` off the network until its core (and host) knows no leader. */
  async loseLeader(id: NodeId): Promise<void> {
    this.network.isolate(id);
    await this.until(`${id} knows no leader`, () => this.node(id).host.status().leader === null);
  }

  async stop(): Promise<void> {
    for (const { host, scheduler } of this.nodes.values()) {
      scheduler.release();
      await host.stop();
    }
  }

  private everyoneFollows(leader: NodeId): boolean {
    return [...this.nodes.values()].every(({ host }) => host.status().leader === leader);
  }

  private activity(): number {
    let runs = this.network.delivered;
    for (const { scheduler } of this.nodes.values()) runs += scheduler.deferredRuns;
    return runs;
  }

  private transport(id: NodeId): PeerTransport {
    const inner = this.network.transport(id);
    return {
      send: (messages) => {
        inner.send(messages);
        for (const message of messages) this.onSent?.(message);
      },
      onMessage: (handler) => inner.onMessage(handler),
    };
  }
}

export interface ServiceOnCluster {
  cluster: ServiceCluster;
  service: LockService;
  /** n1's host as the service sees it. */
  host: ObservedHost;
  timers: VirtualClock;
  /** n1's lock table. */
  table: LockStateMachine;
}

const started: Array<{ cluster: ServiceCluster; service: LockService }> = [];

/** A LockService on n1 of a fresh cluster, once `firstLeader` was elected. */
export async function startService(
  firstLeader: NodeId,
  plantedBugs: LockServicePlantedBugs = {},
): Promise<ServiceOnCluster> {
  const cluster = new ServiceCluster();
  await cluster.start(firstLeader);
  const n1 = cluster.node("n1");
  const host = new ObservedHost(n1.host);
  const service = new LockService(
    withPlantedServiceBugs(
      {
        host,
        table: n1.table,
        leases: new LeaseManager(),
        nowMs: () => cluster.clock.now,
        timers: cluster.clock,
        clientAddressOf: (id) => (id === "n2" ? "127.0.0.1:7002" : null),
        status: () => ({ leader: "n1", term: 1, members: [] }),
      },
      plantedBugs,
    ),
  );
  started.push({ cluster, service });
  // Subscribed before the first election: the service hears every role change of n1.
  await cluster.elected(firstLeader);
  return { cluster, service, host, timers: cluster.clock, table: n1.table };
}

/** Stops every cluster started since the last call. */
export async function stopServices(): Promise<void> {
  for (const { cluster, service } of started.splice(0)) {
    service.stop();
    await cluster.stop();
  }
}

/** The context of a request received now on connection `connectionId` (no principal). */
export function contextAt(timers: { now: number }, connectionId = 1): ClientRequestContext {
  return { connectionId, clientId: `c${connectionId}`, principal: null, receivedAtMs: timers.now };
}
