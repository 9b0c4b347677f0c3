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
import { applyChange } from "./checkers/commit-ledger.js";
import type { SafetyMonitor } from "./checkers/safety-monitor.js";
import type { LogView } from "./checkers/violation.js";
import { SafetyViolation } from "./checkers/violation.js";
import type { ChainedEntry } from "./log-chain.js";
import type { SimNetwork } from "./network.js";
import type { Prng } from "./prng.js";
import { SimStorage } from "./sim-storage.js";
import type { SimStateMachine, SimStateMachineFactory } from "./state-machine.js";
import type { ClusterNode, SimNodeCounters } from "./cluster-node.js";
import { callCore, emptyNodeCounters, logViewsOf } from "./cluster-node.js";
import type { SimWorld } from "./world.js";

/** Raft options the simulator passes through to the core (id, random and applied are its own). */
export type SimRaftOptions = Omit<RaftConfig, "id" | "random" | "applied" | "logger">;

export type RaftNodeFactory = (config: RaftConfig, storage: Storage) => RaftNode;

export interface SimNodeOptions {
  id: string;
  raft: SimRaftOptions;
  /** A tick every tickMs of the node's own clock. */
  tickMs: number;
  /** Speed of the node's clock relative to true time (1 = exact; 1.01 = 1 % fast). */
  clockRate: number;
  /** A synced write completes after a delay uniform in [fsyncMinMs, fsyncMaxMs]. */
  fsyncMinMs: number;
  fsyncMaxMs: number;
  /** Probability that a crash keeps a (possibly torn) prefix of the unsynced writes. */
  tornWriteRate: number;
  /** Snapshot and compact the log when this many entries were applied since the last snapshot. */
  snapshotEveryEntries: number;
  /** Readies taken before the earliest is advanced (the contract allows pipelining). */
  readiesInFlightMax: number;
}

/** What a node tells the cluster around it. */
export interface SimNodeEvents {
  roleChanged?(node: ClusterNode, role: Role, term: number): void;
  /** A committed entry was applied (all kinds). */
  applied?(node: ClusterNode, entry: Entry): void;
  /** A committed config entry was reported in a Ready. */
  configCommitted?(node: ClusterNode): void;
  /** A Ready carried a new soft state (role, leader or term as this node sees them). */
  softStateChanged?(node: ClusterNode, role: Role, leader: string | null, term: number): void;
  /** A ReadIndex read started on this node was confirmed at `index` (a Ready's readStates). */
  readState?(node: ClusterNode, requestId: number, index: number): void;
  /** A ReadIndex read started on this node was dropped (a Ready's droppedReads). */
  readDropped?(node: ClusterNode, requestId: number): void;
  /** The process started, crashed, stopped, paused or resumed (status is the new one). */
  statusChanged?(node: ClusterNode, status: SimNodeStatus): void;
}

export interface SimNodeDeps {
  world: SimWorld;
  network: SimNetwork<Message>;
  monitor: SafetyMonitor;
  random: Prng;
  createRaftNode: RaftNodeFactory;
  createStateMachine: SimStateMachineFactory;
  events: SimNodeEvents;
}

export type SimNodeStatus = "running" | "paused" | "crashed" | "stopped";

/** What the cluster, the checkers and the lock world read of a node's log (SimStorage's views). */
export type SimLogStorage = Pick<
  SimStorage,
  "chainAt" | "snapshotIndexOf" | "lastIndexOf" | "unsyncedWrites" | "term"
>;

/**
 * The host of one simulated node: it runs the real Raft core over SimStorage and follows the
 * Ready contract to the letter. `messages` go out at once; the Ready's writes reach the page cache
 * at once and the disk after a simulated fsync; only then are `messagesAfterPersist` sent,
 * advance() called and committed entries applied. Readies complete in the order taken.
 *
 * A crash loses the process (core, state machine, queued work) and whatever was not synced; a
 * restart rebuilds the core from the durable disk and the state machine from the durable
 * snapshot. A paused process neither ticks nor receives: deliveries and disk completions wait.
 */
export class SimNode implements ClusterNode {
  readonly id: string;
  /** The node's log as the checkers see it (a subclass may keep its log elsewhere). */
  storage: SimLogStorage;
  private readonly simDisk: SimStorage;
  readonly memoryLog: LogView;
  readonly durableLog: LogView;
  status: SimNodeStatus = "crashed";
  role: Role = "follower";
  term = 0;
  leaderHint: string | null = null;
  applied = 0;
  appliedConf: ConfState;
  /** Counts for the run summary. */
  readonly counters: SimNodeCounters = emptyNodeCounters();
  private raft: RaftNode | null = null;
  private stateMachine: SimStateMachine | null = null;
  /** Bumped on crash/stop/restart: scheduled work of an older incarnation is void. */
  private incarnation = 0;
  /** Bumped whenever the tick chain is restarted, so two chains never run at once. */
  private tickChain = 0;
  private readiesInFlight = 0;
  private lastCompletionMs = 0;
  private deferred: (() => void)[] = [];
  protected readonly options: SimNodeOptions;
  protected readonly deps: SimNodeDeps;
  private readonly receive = (message: Message): void => this.onMessage(message);

  constructor(options: SimNodeOptions, bootstrap: ConfState, deps: SimNodeDeps) {
    this.id = options.id;
    this.options = options;
    this.deps = deps;
    this.simDisk = new SimStorage(bootstrap);
    this.storage = this.simDisk;
    this.appliedConf = bootstrap;
    ({ memoryLog: this.memoryLog, durableLog: this.durableLog } = logViewsOf(() => this.storage));
  }

  get isUp(): boolean {
    return this.status === "running" || this.status === "paused";
  }

  get raftNode(): RaftNode | null {
    return this.raft;
  }

  /** Speed of this node's clock relative to true time (its ticks and, in lock mode, its leases). */
  get clockRate(): number {
    return this.options.clockRate;
  }

  /** Start (or restart after a crash) from what the disk holds. */
  start(): void {
    if (this.status === "running" || this.status === "paused" || this.status === "stopped") return;
    const { deps, options, simDisk: storage } = this;
    this.incarnation++;
    const snapshot = storage.snapshot();
    this.raft = deps.createRaftNode(
      {
        ...options.raft,
        id: this.id,
        random: () => deps.random.float(),
        applied: snapshot.metadata.index,
      },
      storage,
    );
    this.stateMachine = deps.createStateMachine(this.id);
    this.stateMachine.restore(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.appliedConf = snapshot.metadata.confState;
    if (this.applied > 0) {
      deps.monitor.observeApplied(this.id, this.applied, this.stateMachine.digest());
    }
    this.role = "follower";
    this.term = storage.initialState().hardState.term;
    this.readiesInFlight = 0;
    this.lastCompletionMs = 0;
    this.deferred = [];
    this.status = "running";
    deps.network.register(this.id, this.receive);
    deps.events.statusChanged?.(this, "running");
    this.startTicking();
    this.drain();
  }

  crash(): void {
    if (!this.isUp) return;
    this.halt("crashed");
    this.counters.crashes++;
    const loss = this.simDisk.crash(this.deps.random, this.options.tornWriteRate);
    if (loss.survivedWrites < loss.unsyncedWrites) this.counters.crashesLosingWrites++;
    const partial = loss.survivedWrites > 0 && loss.survivedWrites < loss.unsyncedWrites;
    if (loss.torn || partial) this.counters.tornWrites++;
    this.deps.monitor.observeDurability();
  }

  restart(): void {
    if (this.status !== "crashed") return;
    this.counters.restarts++;
    this.start();
  }

  /** Removed from the cluster for good: stop the process, keep the disk. */
  stop(): void {
    if (this.status === "stopped") return;
    this.halt("stopped");
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
    const work = this.deferred;
    this.deferred = [];
    for (const run of work) {
      if (this.status !== "running") break;
      run();
    }
    if (this.status === "running") this.startTicking();
  }

  /** Propose application data; returns the error code instead of throwing for refusals. */
  propose(data: Uint8Array): { index: number; term: number } | { error: string } {
    return this.call((raft) => raft.propose(data));
  }

  proposeConfChange(change: ConfChange): { index: number; term: number } | { error: string } {
    return this.call((raft) => raft.proposeConfChange(change));
  }

  /** Start a ReadIndex read; `requestId` comes back in a Ready's readStates or droppedReads. */
  readIndex(requestId: number): { error: string } | undefined {
    this.deps.monitor.observeReadStarted(requestId);
    const result = this.call((raft) => raft.readIndex(requestId));
    if (typeof result === "object" && result !== null && "error" in result) {
      this.deps.monitor.observeReadDropped(requestId);
      return result;
    }
    return undefined;
  }

  /** Start a leadership transfer; returns the refusal's error code, or undefined when started. */
  transferLeadership(target: string): { error: string } | undefined {
    const result = this.call((raft) => raft.transferLeadership(target));
    return typeof result === "object" && result !== null && "error" in result ? result : undefined;
  }

  private call<T>(action: (raft: RaftNode) => T): T | { error: string } {
    return callCore(this.raftNode, this.status === "running", (raft) => {
      const result = action(raft);
      this.drain();
      return result;
    });
  }

  private halt(status: "crashed" | "stopped"): void {
    this.status = status;
    this.incarnation++;
    this.tickChain++;
    this.raft = null;
    this.stateMachine = null;
    this.deferred = [];
    this.readiesInFlight = 0;
    this.deps.network.unregister(this.id);
    if (this.role === "leader") this.deps.events.roleChanged?.(this, "follower", this.term);
    this.role = "follower";
    this.deps.events.statusChanged?.(this, status);
  }

  private startTicking(): void {
    const chain = ++this.tickChain;
    const intervalMs = this.options.tickMs / this.options.clockRate;
    const tick = (): void => {
      if (chain !== this.tickChain || this.status !== "running") return;
      this.raft!.tick();
      this.drain();
      if (chain === this.tickChain && this.status === "running") {
        this.deps.world.after(intervalMs, tick);
      }
    };
    this.deps.world.after(intervalMs, tick);
  }

  private onMessage(message: Message): void {
    if (this.status === "paused") {
      this.deferred.push(() => this.onMessage(message));
      return;
    }
    if (this.status !== "running") return;
    this.raft!.step(message);
    this.drain();
  }

  private drain(): void {
    const raft = this.raft;
    while (
      this.status === "running" &&
      raft === this.raft &&
      raft !== null &&
      this.readiesInFlight < this.options.readiesInFlightMax &&
      raft.hasReady()
    ) {
      this.handleReady(raft.ready());
    }
  }

  private handleReady(ready: Ready): void {
    const { deps, simDisk: storage } = this;
    const trace = deps.world.trace;
    trace.int(ready.id).int(ready.entries.length).int(ready.committedEntries.length);
    if (ready.softState !== undefined) {
      const soft = ready.softState;
      const wasLeader = this.role === "leader";
      this.role = soft.role;
      this.term = soft.term;
      this.leaderHint = soft.leader;
      if (soft.role === "leader") {
        deps.monitor.observeLeader({ node: this.id, term: soft.term, log: this.memoryLog });
      }
      if (wasLeader !== (soft.role === "leader")) {
        deps.events.roleChanged?.(this, soft.role, soft.term);
      }
      deps.events.softStateChanged?.(this, soft.role, soft.leader, soft.term);
    }
    for (const message of ready.messages) deps.network.send(this.id, message.to, message);

    // Persist: snapshot, entries, hard state, in the order the contract asks.
    if (ready.snapshot !== undefined) {
      const { index, term } = ready.snapshot.metadata;
      const chain = deps.monitor.observeSnapshot(this.id, index, term);
      storage.writeSnapshot(ready.snapshot, chain);
    }
    if (ready.entries.length > 0) {
      deps.monitor.observeEntries(this.id, storage.writeEntries(ready.entries));
    }
    if (ready.hardState !== undefined) {
      storage.writeHardState(ready.hardState);
      this.term = Math.max(this.term, ready.hardState.term);
    }
    if (ready.committedEntries.length > 0) this.reportCommitted(ready.committedEntries);
    for (const read of ready.readStates) {
      deps.monitor.observeReadState(this.id, read.requestId, read.index);
      deps.events.readState?.(this, read.requestId, read.index);
    }
    for (const requestId of ready.droppedReads) {
      deps.monitor.observeReadDropped(requestId);
      deps.events.readDropped?.(this, requestId);
    }

    const sequence = storage.lastWriteSequence;
    const delayMs = ready.mustSync
      ? deps.random.between(this.options.fsyncMinMs, this.options.fsyncMaxMs)
      : 0;
    const doneMs = Math.max(deps.world.nowMs + delayMs, this.lastCompletionMs);
    this.lastCompletionMs = doneMs;
    this.readiesInFlight++;
    const incarnation = this.incarnation;
    deps.world.at(doneMs, () => this.completeReady(incarnation, ready, sequence));
  }

  private reportCommitted(entries: readonly Entry[]): void {
    reportCommitted(this, this.deps, entries);
  }

  private completeReady(incarnation: number, ready: Ready, sequence: number): void {
    if (incarnation !== this.incarnation) return;
    if (this.status === "paused") {
      this.deferred.push(() => this.completeReady(incarnation, ready, sequence));
      return;
    }
    const { deps, simDisk: storage } = this;
    if (ready.mustSync) {
      storage.syncThrough(sequence);
      deps.monitor.observeDurability();
    }
    for (const message of ready.messagesAfterPersist) {
      deps.network.send(this.id, message.to, message);
    }
    const raft = this.raft!;
    raft.advance(ready);
    this.readiesInFlight--;
    this.apply(ready);
    this.maybeCompact();
    this.drain();
  }

  private apply(ready: Ready): void {
    const stateMachine = this.stateMachine!;
    const { monitor } = this.deps;
    const before = this.applied;
    if (ready.snapshot !== undefined && ready.snapshot.metadata.index > this.applied) {
      stateMachine.restore(ready.snapshot.data);
      this.applied = ready.snapshot.metadata.index;
      this.appliedConf = ready.snapshot.metadata.confState;
      this.counters.snapshotsInstalled++;
      monitor.observeApplied(this.id, this.applied, stateMachine.digest());
    }
    for (const entry of ready.committedEntries) {
      if (entry.index <= this.applied) continue;
      if (entry.index !== this.applied + 1) {
        throw new SafetyViolation(
          "coreContract",
          `${this.id} was handed entry ${entry.index} to apply after ${this.applied}`,
        );
      }
      if (entry.kind === "normal") stateMachine.apply(entry);
      else if (entry.kind === "config" && entry.change) {
        this.appliedConf = applyChange(this.appliedConf, entry.change);
      }
      this.applied = entry.index;
      monitor.observeApplied(this.id, entry.index, stateMachine.digest());
      this.deps.events.applied?.(this, entry);
    }
    if (this.applied !== before) this.raft!.appliedTo(this.applied);
  }

  private maybeCompact(): void {
    const storage = this.simDisk;
    const applied = this.applied;
    if (applied - storage.snapshotIndexOf("memory") < this.options.snapshotEveryEntries) return;
    // Only what is durable can be snapshotted (a snapshot never covers a write a crash may undo).
    if (applied > storage.lastIndexOf("durable") || applied > storage.lastIndexOf("memory")) return;
    const snapshot = {
      metadata: { index: applied, term: storage.term(applied), confState: this.appliedConf },
      data: this.stateMachine!.snapshot(),
    };
    storage.compact(snapshot);
    this.raft!.compacted(applied);
    this.counters.compactions++;
  }
}

/** Tells the monitor a Ready reported `entries` committed on `node` (and the cluster of configs). */
export function reportCommitted(
  node: ClusterNode,
  deps: Pick<SimNodeDeps, "monitor" | "events">,
  entries: readonly Entry[],
): void {
  const { monitor } = deps;
  const chained: ChainedEntry[] = [];
  let config = false;
  for (const entry of entries) {
    const chain = monitor.logMatching.chainOf(entry.index, entry.term);
    if (chain === undefined) {
      throw new SafetyViolation(
        "coreContract",
        `${node.id} reports (index ${entry.index}, term ${entry.term}) committed, ` +
          `an entry no node ever stored`,
      );
    }
    chained.push({ entry, chain });
    if (entry.kind === "config") config = true;
  }
  monitor.observeCommitted(node.id, node.term, chained);
  if (config) deps.events.configCommitted?.(node);
}
