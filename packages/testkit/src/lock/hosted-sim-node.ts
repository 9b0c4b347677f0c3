import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  RaftConfig,
  RaftNode,
  Ready,
  Role,
  Storage,
} from "@dlock/raft";
import { SILENT_LOGGER } from "@dlock/protocol";
import type { PeerTransport, RaftHostOptions, StateMachine } from "@dlock/server/internal";
import { applyChange } from "../checkers/commit-ledger.js";
import type { LogView } from "../checkers/violation.js";
import type {
  ClusterNode,
  SimLogStorage,
  SimNodeCounters,
  SimNodeDeps,
  SimNodeOptions,
  SimNodeStatus,
  SimRefusal,
} from "../cluster-node.js";
import { callCore, emptyNodeCounters, logViewsOf, reportCommitted } from "../cluster-node.js";
import { chainAfter } from "../log-chain.js";
import type { ChainedEntry } from "../log-chain.js";
import { SimDisk } from "../sim-host-storage.js";
import type { SimDiskTiming, SimHostStorage } from "../sim-host-storage.js";
import { HeldWork } from "../held-work.js";
import type { AsyncWorld } from "./async-world.js";
import type { SimProcess, SimProcessClock } from "./sim-process.js";
import { clockDiskTiming, clockScheduler, processSoon, touchingCore } from "./sim-host-node.js";

/** Starts the production host of a new incarnation on the node (the lock world's LockNodeHost). */
export type HostStarter = (node: HostedSimNode) => void;

/** A write the host was handed with a Ready and has not finished (advance() not called yet). */
type PendingWrite =
  | { readyId: number; kind: "entries"; first: number; chains: number[] }
  | { readyId: number; kind: "snapshot"; index: number; chain: number };

/**
 * A simulated server whose process runs the production RaftHost: the cluster node of both the
 * lock simulator and the Raft-level one (hosted-raft-cluster.ts). The cluster, the fault driver
 * and the checkers see it as a ClusterNode: status, crashes (losing what the SimDisk had not
 * synced), pauses, role and term, applied index, and the memory and durable logs as chain values.
 * The core the host builds is wrapped (`createCore`) to feed the safety monitor from every Ready
 * and to give reads cluster-wide ids; what the host starts on (storage, transport) comes from here.
 */
export class HostedSimNode implements ClusterNode {
  readonly id: string;
  readonly storage: SimLogStorage;
  readonly memoryLog: LogView;
  readonly durableLog: LogView;
  status: SimNodeStatus = "crashed";
  role: Role = "follower";
  term = 0;
  leaderHint: string | null = null;
  applied = 0;
  appliedConf: ConfState;
  readonly counters: SimNodeCounters = emptyNodeCounters();
  readonly disk: SimDisk;
  /** The storage the running incarnation opened (null while down). */
  hostStorage: SimHostStorage | null = null;
  private core: RaftNode | null = null;
  private handler: ((message: Message) => void) | null = null;
  private pending: PendingWrite[] = [];
  private hostIncarnation = 0;
  private readonly held = new HeldWork();

  constructor(
    private readonly options: SimNodeOptions,
    bootstrap: ConfState,
    private readonly deps: SimNodeDeps,
    private readonly hosting: {
      start: HostStarter;
      /** A read id no other read in the cluster uses (the monitor follows reads by id). */
      readId: () => number;
    },
  ) {
    this.id = options.id;
    this.appliedConf = bootstrap;
    this.disk = new SimDisk({
      voters: [...bootstrap.voters],
      learners: [...bootstrap.learners],
      peerAddresses: {},
    });
    this.disk.onSync = () => this.deps.monitor.observeDurability();
    this.storage = this.logStorage();
    ({ memoryLog: this.memoryLog, durableLog: this.durableLog } = logViewsOf(() => this.storage));
  }

  get isUp(): boolean {
    return this.status === "running" || this.status === "paused";
  }

  get clockRate(): number {
    return this.options.clockRate;
  }

  /** This node's randomness (fsync latency, crashes, election jitter). */
  get random() {
    return this.deps.random;
  }

  get fsyncMsRange(): [number, number] {
    return [this.options.fsyncMinMs, this.options.fsyncMaxMs];
  }

  get raftNode(): RaftNode | null {
    return this.core;
  }

  /** The RaftHost settings the node's options describe. */
  get hostSettings() {
    const { electionTicks, heartbeatTicks, ...raft } = this.options.raft;
    return {
      tickMs: this.options.tickMs,
      electionTicks,
      heartbeatTicks,
      raft,
      compactionEntries: this.options.snapshotEveryEntries,
      compactionBytes: 0,
    };
  }

  start(): void {
    if (this.status !== "crashed") return;
    this.hostIncarnation++;
    this.pending = [];
    this.held.drop();
    this.handler = null;
    this.role = "follower";
    this.status = "running";
    const incarnation = this.hostIncarnation;
    this.deps.network.register(this.id, (message) => this.deliver(incarnation, message));
    this.deps.events.statusChanged?.(this, "running");
    this.hosting.start(this);
  }

  crash(): void {
    if (!this.isUp) return;
    this.haltHost("crashed");
    this.counters.crashes++;
    const loss = this.disk.crash(this.deps.random, this.options.tornWriteRate);
    if (loss.survivedWrites < loss.unsyncedWrites) this.counters.crashesLosingWrites++;
    if (loss.survivedWrites > 0 && loss.survivedWrites < loss.unsyncedWrites) {
      this.counters.tornWrites++;
    }
    this.deps.monitor.observeDurability();
  }

  whenUnsynced(batches: number, callback: () => void): () => void {
    return this.disk.whenUnsynced(batches, callback);
  }

  stop(): void {
    if (this.status === "stopped") return;
    this.haltHost("stopped");
  }

  pause(): void {
    if (this.status !== "running") return;
    this.status = "paused";
    this.deps.events.statusChanged?.(this, "paused");
  }

  resume(): void {
    if (this.status !== "paused") return;
    this.status = "running";
    this.deps.events.statusChanged?.(this, "running");
    this.held.runWhile(() => this.status === "running");
  }

  restart(): void {
    if (this.status !== "crashed") return;
    this.counters.restarts++;
    this.start();
  }

  // ---- the fault driver's calls, straight to the core (the host learns of them at its next Ready)

  propose(data: Uint8Array): { index: number; term: number } | SimRefusal {
    return this.call((core) => core.propose(data));
  }

  proposeConfChange(change: ConfChange): { index: number; term: number } | SimRefusal {
    return this.call((core) => core.proposeConfChange(change));
  }

  readIndex(requestId: number): SimRefusal | undefined {
    this.deps.monitor.observeReadStarted(requestId);
    const refused = this.call((core) => {
      core.readIndex(requestId);
      return undefined;
    });
    if (refused === undefined) return undefined;
    this.deps.monitor.observeReadDropped(requestId);
    return refused;
  }

  transferLeadership(target: string): SimRefusal | undefined {
    return this.call((core) => {
      core.transferLeadership(target);
      return undefined;
    });
  }

  private call<T>(action: (core: RaftNode) => T): T | SimRefusal {
    return callCore(this.core, this.status === "running", action);
  }

  // ---- what the host of this incarnation starts on ----------------------------------------------

  /**
   * RaftHost options for a new incarnation of `process` (this node's process, on `clock`): the
   * disk opened again (fsync latency from the node's options), the simulated network, the
   * observed core, a scheduler on the clock; the caller adds its state machine.
   */
  hostOptions<Result>(
    world: AsyncWorld,
    process: SimProcess,
    clock: SimProcessClock,
    stateMachine: StateMachine<Result>,
  ): RaftHostOptions<Result> {
    const soon = processSoon(world, process);
    const random = this.deps.random;
    const [fsyncMsMin, fsyncMsMax] = this.fsyncMsRange;
    return {
      ...this.hostSettings,
      id: this.id,
      storage: this.openStorage(
        clockDiskTiming(clock, soon, () => random.between(fsyncMsMin, fsyncMsMax)),
      ),
      transport: this.transport(),
      stateMachine,
      createNode: (config, raftStorage) =>
        touchingCore(this.createCore(config, raftStorage), world),
      logger: SILENT_LOGGER,
      scheduler: clockScheduler(clock, soon),
      now: () => clock.now(),
    };
  }

  /** The membership the running incarnation's storage applied (the last one seen while down). */
  storedConf(): ConfState {
    const members = this.hostStorage?.appliedMembers();
    return members === undefined
      ? this.appliedConf
      : { voters: members.voters, learners: members.learners };
  }

  /** Opens the disk for the new incarnation. */
  openStorage(timing: SimDiskTiming): SimHostStorage {
    this.hostStorage = this.disk.open(timing);
    return this.hostStorage;
  }

  /** The peer transport: the simulated network; a paused process receives when it resumes. */
  transport(): PeerTransport {
    const network = this.deps.network;
    return {
      send: (messages: readonly Message[]) => {
        for (const message of messages) network.send(this.id, message.to, message);
      },
      onMessage: (handler) => {
        this.handler = handler;
        return () => {
          if (this.handler === handler) this.handler = null;
        };
      },
    };
  }

  /** RaftHost's createNode: the real core (with any planted core bugs), observed. */
  readonly createCore = (config: RaftConfig, storage: Storage): RaftNode => {
    const core = this.deps.createRaftNode(
      { ...config, random: () => this.deps.random.float() },
      storage,
    );
    this.core = core;
    const toGlobal = new Map<number, number>();
    const toLocal = new Map<number, number>();
    const local = (id: number): number => {
      const mapped = toLocal.get(id) ?? id;
      toLocal.delete(id);
      toGlobal.delete(mapped);
      return mapped;
    };
    const observed: RaftNode = {
      tick: () => core.tick(),
      step: (message) => core.step(message),
      propose: (data) => core.propose(data),
      proposeConfChange: (change) => core.proposeConfChange(change),
      readIndex: (requestId) => {
        const id = this.hosting.readId();
        this.deps.monitor.observeReadStarted(id);
        try {
          core.readIndex(id);
        } catch (error) {
          this.deps.monitor.observeReadDropped(id);
          throw error;
        }
        toGlobal.set(requestId, id);
        toLocal.set(id, requestId);
      },
      transferLeadership: (target) => core.transferLeadership(target),
      campaign: () => core.campaign(),
      rememberRemovedVoters: (voters) => core.rememberRemovedVoters(voters),
      snapshotStagingDrained: () => core.snapshotStagingDrained(),
      hasReady: () => core.hasReady(),
      ready: () => {
        const ready = core.ready();
        if (this.core !== core) return ready;
        this.observeReady(ready);
        if (ready.readStates.length === 0 && ready.droppedReads.length === 0) return ready;
        return {
          ...ready,
          readStates: ready.readStates.map((state) => ({
            ...state,
            requestId: local(state.requestId),
          })),
          droppedReads: ready.droppedReads.map(local),
        };
      },
      advance: (ready) => {
        if (this.core === core && this.pending[0]?.readyId === ready.id) this.pending.shift();
        core.advance(ready);
      },
      appliedTo: (index) => core.appliedTo(index),
      compacted: (index) => {
        core.compacted(index);
        if (this.core === core) this.counters.compactions++;
      },
      status: () => core.status(),
    };
    return observed;
  };

  /** The host applied `entries`; the table's digest is `digest` at the last one. */
  hostApplied(entries: readonly Entry[], digest: number): void {
    if (entries.length === 0) return;
    for (const entry of entries) {
      if (entry.index !== this.applied + 1) {
        throw new Error(`${this.id} applied ${entry.index} after ${this.applied}`);
      }
      if (entry.kind === "config" && entry.change !== undefined) {
        this.appliedConf = applyChange(this.appliedConf, entry.change);
      }
      this.applied = entry.index;
    }
    this.deps.monitor.observeApplied(this.id, this.applied, digest);
    for (const entry of entries) this.deps.events.applied?.(this, entry);
  }

  /** The state machine was loaded (at start) or replaced by a leader's snapshot at `index`. */
  hostRestored(index: number, conf: ConfState, digest: number, installed: boolean): void {
    this.applied = index;
    this.appliedConf = conf;
    if (installed) this.counters.snapshotsInstalled++;
    if (index > 0) this.deps.monitor.observeApplied(this.id, index, digest);
  }

  // ---- observation -------------------------------------------------------------------------------

  private observeReady(ready: Ready): void {
    const { deps } = this;
    const monitor = deps.monitor;
    deps.world.trace.int(ready.id).int(ready.entries.length).int(ready.committedEntries.length);
    if (ready.softState !== undefined) {
      const soft = ready.softState;
      const wasLeader = this.role === "leader";
      this.role = soft.role;
      this.term = soft.term;
      this.leaderHint = soft.leader;
      if (soft.role === "leader") {
        monitor.observeLeader({ node: this.id, term: soft.term, log: this.memoryLog });
      }
      if (wasLeader !== (soft.role === "leader"))
        deps.events.roleChanged?.(this, soft.role, soft.term);
      deps.events.softStateChanged?.(this, soft.role, soft.leader, soft.term);
    }
    if (ready.snapshot !== undefined) {
      const { index, term } = ready.snapshot.metadata;
      const chain = monitor.observeSnapshot(this.id, index, term);
      this.pending.push({ readyId: ready.id, kind: "snapshot", index, chain });
    }
    const [firstEntry] = ready.entries;
    if (firstEntry !== undefined) {
      const first = firstEntry.index;
      let previous = this.chainAt(first - 1) ?? 0;
      const chained: ChainedEntry[] = [];
      const chains: number[] = [];
      for (const entry of ready.entries) {
        previous = chainAfter(previous, entry);
        chained.push({ entry, chain: previous });
        chains.push(previous);
      }
      monitor.observeEntries(this.id, chained);
      this.pending.push({ readyId: ready.id, kind: "entries", first, chains });
    }
    if (ready.hardState !== undefined) this.term = Math.max(this.term, ready.hardState.term);
    if (ready.committedEntries.length > 0) {
      reportCommitted(this, this.deps, ready.committedEntries);
    }
    for (const read of ready.readStates) {
      monitor.observeReadState(this.id, read.requestId, read.index);
    }
    for (const requestId of ready.droppedReads) monitor.observeReadDropped(requestId);
  }

  /** The chain at `index` in the log as the core handed it to the host (pending writes on top). */
  private chainAt(index: number): number | undefined {
    // Newest first, without the copy a reversed for..of would make: checkers ask per entry.
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const write = this.pending[i]!; // 0 <= i < length
      if (write.kind === "snapshot") return index === write.index ? write.chain : undefined;
      if (index >= write.first) return write.chains[index - write.first];
    }
    return this.storedChainAt(index);
  }

  private storedChainAt(index: number): number | undefined {
    const storage = this.hostStorage;
    if (storage === null) return this.durableChainAt(index);
    const snapshotIndex = storage.firstIndex() - 1;
    if (index < snapshotIndex || index > storage.lastIndex()) return undefined;
    return this.deps.monitor.logMatching.chainOf(index, storage.term(index));
  }

  private durableChainAt(index: number): number | undefined {
    const term = this.disk.durableTermAt(index);
    return term === undefined ? undefined : this.deps.monitor.logMatching.chainOf(index, term);
  }

  private memoryLastIndex(): number {
    const write = this.pending[this.pending.length - 1];
    if (write !== undefined) {
      return write.kind === "snapshot" ? write.index : write.first + write.chains.length - 1;
    }
    return this.hostStorage?.lastIndex() ?? this.disk.durableLastIndex();
  }

  private memorySnapshotIndex(): number {
    const snapshot = this.pending.findLast((write) => write.kind === "snapshot");
    if (snapshot !== undefined) return snapshot.index;
    return this.hostStorage !== null
      ? this.hostStorage.firstIndex() - 1
      : this.disk.durableSnapshotIndex();
  }

  private logStorage(): SimLogStorage {
    const disk = this.disk;
    return {
      chainAt: (index, image = "memory") =>
        image === "memory" ? this.chainAt(index) : this.durableChainAt(index),
      snapshotIndexOf: (image = "memory") =>
        image === "memory" ? this.memorySnapshotIndex() : this.disk.durableSnapshotIndex(),
      lastIndexOf: (image = "memory") =>
        image === "memory" ? this.memoryLastIndex() : this.disk.durableLastIndex(),
      get unsyncedWrites() {
        return disk.unsyncedWrites;
      },
      term: (index) => {
        const storage = this.hostStorage;
        if (storage === null) throw new RangeError(`${index}: the node is down`);
        return storage.term(index);
      },
    };
  }

  private deliver(incarnation: number, message: Message): void {
    if (incarnation !== this.hostIncarnation || !this.isUp) return;
    if (this.status === "paused") {
      this.held.hold(() => this.deliver(incarnation, message));
      return;
    }
    this.handler?.(message);
  }

  private haltHost(status: "crashed" | "stopped"): void {
    this.status = status;
    this.hostIncarnation++;
    this.core = null;
    this.handler = null;
    this.hostStorage = null;
    this.pending = [];
    this.held.drop();
    this.deps.network.unregister(this.id);
    if (this.role === "leader") this.deps.events.roleChanged?.(this, "follower", this.term);
    this.role = "follower";
    this.deps.events.statusChanged?.(this, status);
  }
}
