import { RawNode, notLeaderError } from "@dlock/raft";
import type {
  ConfChange,
  Entry,
  Message,
  NodeId,
  RaftNode,
  Ready,
  RefusalReason,
  Role,
  RaftConfig,
  Snapshot,
  SnapshotBytes,
  SnapshotMetadata,
  Status,
} from "@dlock/raft";
import type { Logger } from "@dlock/protocol";
import { GroupCommitter } from "../storage/group-commit.js";
import { LogOnce } from "../transport/log-once.js";
import type { GroupCommitStats } from "../storage/group-commit.js";
import { StorageError } from "../storage/errors.js";
import type { HostStorage, StorageStats, StorageWrite } from "../storage/host-storage.js";
import { copyMembers } from "../storage/members-record.js";
import type { ClusterMembers } from "../storage/members-record.js";
import { AppendPacer } from "./append-pacer.js";
import { applyMemberChange } from "./cluster-members.js";
import { departingPeersOf, sameIds } from "./departing-peers.js";
import { HostError } from "./errors.js";
import type { PeerTransport, StateMachine } from "./interfaces.js";
import { resolveRaftHostOptions } from "./options.js";
import type { RaftHostOptions, ResolvedRaftHostOptions } from "./options.js";
import type { HostScheduler, ScheduledHandle } from "./scheduler.js";
import { hostPlantedBugsOf } from "./planted-bugs.js";
import type { HostPlantedBugs } from "./planted-bugs.js";
import { SlotRing } from "./slot-ring.js";

/** Emitted when this node's role, the known leader or the term changes. */
export interface RoleChange {
  role: Role;
  leader: NodeId | null;
  term: number;
  /** The host's monotonic clock (options.now) when the change was seen. */
  atMs: number;
}

export interface HostStatus extends Status {
  /** False while the storage cannot write, after a fatal error, or once stopped. */
  healthy: boolean;
  /** Why it is unhealthy, if it is. */
  failure: string | null;
  /** True while writes to the data folder fail and are retried (the node resumes when one works). */
  storageFailing: boolean;
  /** Milliseconds since a message from each peer arrived (peers never heard from are absent). */
  heardFromMsAgo: Record<NodeId, number>;
  /** Applied index whose lock-table effects are on disk. */
  durableAppliedIndex: number;
  /** Index of the snapshot the log starts after, and its size. */
  snapshotIndex: number;
  snapshotBytes: number;
  /** Entries and stored bytes of the log above the snapshot. */
  logEntries: number;
  logBytes: number;
  pendingProposals: number;
  pendingReads: number;
  storage: StorageStats;
  groupCommit: GroupCommitStats;
}

interface PendingProposal<Result> {
  term: number;
  resolve: (result: Result | undefined) => void;
  reject: (error: Error) => void;
}

interface PendingRead {
  /** 0 until the core answered with a read index. */
  index: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface InFlightReady {
  ready: Ready<SnapshotBytes>;
  persisted: boolean;
  /** Its committed entries were applied before its write finished (see applyEarly). */
  applied: boolean;
  /** Its messagesAfterPersist went out ahead of its applies (see sendAcknowledgementsFirst). */
  acknowledged: boolean;
}

interface Transfer {
  target: NodeId;
  resolve: (target: NodeId) => void;
  reject: (error: Error) => void;
  timer: ScheduledHandle;
}

/** The fraction of a compaction limit at which a compaction starts (the rest is headroom). */
const COMPACTION_START = 0.75;

/**
 * Drives one RawNode with the clock, timers, storage and transport it is given (real ones in the
 * server, simulated ones in the simulator, which runs this same class):
 *
 *   tick ─► node.tick()            transport ─► node.step(message)
 *   ready loop: Ready → send `messages` at once → persist (group commit, one fsync for many
 *   Readies) → send `messagesAfterPersist` → advance → apply `committedEntries` → appliedTo.
 *
 * Readies are taken as soon as the core has them (pipelining: a leader replicates while its own
 * write is in flight) and are advanced strictly in order. The state machine's changes ride in the
 * next storage batch with the applied index, never in a separate fsync. A failed write is retried
 * until it succeeds: meanwhile the host ticks, sends, advances and acknowledges nothing and
 * refuses requests, then resumes. Any other storage failure stops the host for good (unhealthy).
 */
export class RaftHost<Result> {
  readonly id: NodeId;
  private readonly options: ResolvedRaftHostOptions<Result>;
  private readonly storage: HostStorage;
  private readonly scheduler: HostScheduler;
  private readonly transport: PeerTransport;
  private readonly stateMachine: StateMachine<Result>;
  private readonly logger: Logger;
  private readonly node: RaftNode<SnapshotBytes>;
  private readonly committer: GroupCommitter;
  /** By log index (a Map here made old-generation garbage per proposal: see SlotRing). */
  private readonly proposals = new SlotRing<PendingProposal<Result>>();
  private readonly reads = new Map<number, PendingRead>();
  /** Reads with a read index above applied, in arrival order. */
  private waitingReads: number[] = [];
  private readonly inFlight: InFlightReady[] = [];
  /**
   * Appends held while a synced write is in flight: they go out when the next batch starts (or
   * the committer idles, or at the next tick), so each follower gets one frame per persist cycle
   * instead of one per event-loop turn that proposed or committed something. Not behind an
   * unsynced write: it ends within a turn or two, and holding would only delay the followers'
   * fsync (a serial client's next proposal often lands just then). Empty appends (a commit
   * index, a probe, a loss check) are held even with no write in flight: nobody waits for a
   * follower to learn a commit, so they ride with the next entries or go at the next tick.
   */
  private outbox: Message[] = [];
  /** The outbox holds an append with entries: a follower's fsync waits for it. */
  private outboxHasEntries = false;
  /** Appends over one turn's budget per follower, handed to the transport in later turns. */
  private readonly pacer: AppendPacer;
  private pacedReleaseScheduled = false;
  private readonly roleListeners = new Set<(change: RoleChange) => void>();
  private readonly applyListeners = new Set<
    (entries: readonly Entry[], results: ReadonlyArray<Result | undefined>) => void
  >();
  private nextReadId = 1;
  private role: Role = "follower";
  private leader: NodeId | null = null;
  private term = 0;
  /** The members as of the applied index (config entries change it when applied). */
  private members: ClusterMembers;
  private membersChanged = false;
  private readonly membersListeners = new Set<(members: ClusterMembers) => void>();
  private readonly appendedChangeListeners = new Set<(change: ConfChange) => void>();
  private readonly departingListeners = new Set<(ids: readonly NodeId[]) => void>();
  private readonly snapshotListeners = new Set<(index: number) => void>();
  /** Last departingPeersOf() the listeners heard. */
  private departing: NodeId[] = [];
  /** When (options.now) a message from each peer last arrived. */
  private readonly heardAt = new Map<NodeId, number>();
  /**
   * Index of a leader's snapshot handed to storage and not yet installed in the state machine:
   * until it is, the state machine's changes are of a state the snapshot replaces.
   */
  private installingSnapshotIndex = 0;
  private lastWrittenApplied: number;
  private processScheduled = false;
  /** Committed entries applied since this turn of the event loop began (apply pacing). */
  private appliedThisTurn = 0;
  /** drainPersisted() yielded: it resumes in a later turn, and waits until then. */
  private drainDeferred = false;
  /** Applies wait for the next batch to take the state machine's changes (changesWaitForBatch). */
  private drainHeldForChanges = false;
  private compacting = false;
  /** A leader's snapshot decoded while it was written, for installSnapshot() to swap in. */
  private readonly preparedRestores = new Map<
    number,
    { records: number; members: ClusterMembers | null; install(): void }
  >();
  /** The compaction in progress, which stop() waits for before closing the storage. */
  private compaction: Promise<number | null> | null = null;
  private transfer: Transfer | null = null;
  /** Peer messages the core refused are logged once per (peer, reason). */
  private readonly refusalLog = new LogOnce();
  private tickTimer: ScheduledHandle | null = null;
  private unsubscribe: (() => void) | null = null;
  /** A fatal error (a broken invariant): the host takes nothing more. */
  private failure: Error | null = null;
  /**
   * Set while writes to the data folder fail (disk full, I/O error) and the same batch is retried:
   * the host ticks, receives and sends nothing, and refuses requests, as if paused; it resumes
   * when the batch is written.
   */
  private storageFailure: Error | null = null;
  /** What is failing to write: the group committer's batches, a leader's snapshot being staged. */
  private readonly failingWrites = new Set<"batches" | "snapshot">();
  private stopped = false;
  /** Deliberate bugs, set only through the internal entry (no public type names them). */
  private readonly bugs: HostPlantedBugs;

  private constructor(options: ResolvedRaftHostOptions<Result>, bugs: HostPlantedBugs) {
    this.options = options;
    this.bugs = bugs;
    this.id = options.id;
    this.storage = options.storage;
    this.scheduler = options.scheduler;
    this.transport = options.transport;
    this.stateMachine = options.stateMachine;
    this.logger = options.logger;
    this.lastWrittenApplied = this.storage.appliedIndex();
    this.members = this.storage.appliedMembers();
    this.pacer = new AppendPacer(options.appendBytesPerTurnMax);
    this.committer = new GroupCommitter(this.storage, {
      writesPerBatchMax: options.writesPerBatchMax,
      collectExtra: () => this.collectStateChanges(),
      retryable: (error) => error instanceof StorageError && error.code === "WRITE_FAILED",
      onFailing: (error) => this.storageFailing(error as Error, "batches"),
      onRecovered: () => this.storageRecovered("batches"),
      retryDelayMsMin: options.storageRetryDelayMsMin,
      retryDelayMsMax: options.storageRetryDelayMsMax,
      scheduler: options.scheduler,
      // Empty appends stay held (they ride with the next entries or tick): only held entries go
      // out as the next batch starts.
      onBatchStart: () => {
        if (this.outboxHasEntries) this.flushOutbox();
      },
      // Not at once: the persisted Readies' follow-ups (commit updates) come a turn later and
      // would take a frame of their own; process() flushes what it finds held.
      onIdle: () => {
        if (this.outboxHasEntries) this.scheduleProcess();
      },
    });
    const createNode =
      options.createNode ?? ((config, storage) => new RawNode(config, storage) as RaftNode);
    this.node = createNode(
      {
        ...options.raft,
        id: options.id,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        applied: this.stateMachine.appliedIndex(),
        random: options.random,
        checkSnapshot: (snapshot: Snapshot) => this.storage.snapshotProblem(snapshot),
        snapshotCheck: this.storage.snapshotCheck?.bind(this.storage),
        // The node's Readies are read as RaftNode<SnapshotBytes> (this.node): a staged snapshot's
        // bytes are only ever used as SnapshotBytes, which a Uint8Array also is.
        snapshotStaging: this.stagingOf(),
        onRefused: (message, reason) => this.onRaftRefused(message, reason),
        logger: this.logger,
      },
      this.storage,
    );
    this.node.rememberRemovedVoters(this.members.removedVoters ?? []);
  }

  /**
   * Loads the state machine from storage (the table as of the durable applied index, which is
   * never below the snapshot's), builds the Raft node and starts the tick timer and the transport
   * handler.
   */
  static async start<Result>(options: RaftHostOptions<Result>): Promise<RaftHost<Result>> {
    const resolved = resolveRaftHostOptions(options);
    const { storage, stateMachine } = resolved;
    if (stateMachine.loadChunks !== undefined && storage.lockRecordChunks !== undefined)
      await stateMachine.loadChunks(storage.appliedIndex(), storage.lockRecordChunks());
    else stateMachine.load(storage.appliedIndex(), await storage.readLockRecords());
    const host = new RaftHost(resolved, hostPlantedBugsOf(options));
    host.run();
    return host;
  }

  private run(): void {
    this.unsubscribe = this.transport.onMessage((message) => this.receive(message));
    this.startTicking();
    const status = this.node.status();
    this.term = status.term;
    this.logger.info(
      {
        term: status.term,
        commit: status.commit,
        applied: status.applied,
        lastIndex: status.lastIndex,
      },
      "raft host started",
    );
    this.scheduleProcess();
  }

  // ---- public API ------------------------------------------------------------------------------

  /**
   * Proposes `data` (telling `onProposed` its index at once) and resolves with the state machine's
   * result once the entry with that (index, term) is applied here. Rejects with the core's NOT_LEADER RaftError (leader hint), ProposalDroppedError,
   * HostError PROPOSAL_LOST (another entry was committed in its slot: never applied),
   * OUTCOME_UNKNOWN, OVERLOADED, UNHEALTHY or STOPPED.
   */
  propose(data: Uint8Array, onProposed?: (index: number) => void): Promise<Result | undefined> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.proposals.size >= this.options.pendingProposalsMax) {
      return Promise.reject(new HostError("OVERLOADED", "too many proposals waiting"));
    }
    let slot: { index: number; term: number };
    try {
      slot = this.node.propose(data);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    onProposed?.(slot.index);
    this.scheduleProcess();
    // An older proposal still waiting on this slot was truncated from our log. It was not
    // committed before this term (a leader's log holds every committed entry), but a later
    // leader holding it may still commit it if our new entry does not reach a majority: unknown.
    const stale = this.proposals.get(slot.index);
    if (stale !== undefined) {
      stale.reject(
        new HostError(
          "OUTCOME_UNKNOWN",
          `entry ${slot.index} of term ${stale.term} left this log for term ${slot.term}`,
        ),
      );
    }
    return new Promise<Result | undefined>((resolve, reject) => {
      this.proposals.set(slot.index, { term: slot.term, resolve, reject });
    });
  }

  /**
   * Proposes a one-server membership change and resolves once it is applied here (committed).
   * Rejects like propose(), and with the core's RaftError CONF_CHANGE_IN_PROGRESS (an earlier
   * change is not committed), INVALID_CONF_CHANGE or TRANSFER_IN_PROGRESS.
   */
  proposeConfChange(change: ConfChange): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    let slot: { index: number; term: number };
    try {
      slot = this.node.proposeConfChange(change);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.scheduleProcess();
    return new Promise<void>((resolve, reject) => {
      this.proposals.set(slot.index, { term: slot.term, resolve: () => resolve(), reject });
    });
  }

  /**
   * Resolves once this node has applied everything committed before the call, as confirmed by a
   * quorum (ReadIndex): a read of the state machine after it is linearizable. Leader only.
   */
  readIndex(): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.reads.size >= this.options.pendingReadsMax) {
      return Promise.reject(new HostError("OVERLOADED", "too many reads waiting"));
    }
    const id = this.nextReadId++;
    try {
      this.node.readIndex(id);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.scheduleProcess();
    return new Promise<void>((resolve, reject) => {
      this.reads.set(id, { index: 0, resolve, reject });
    });
  }

  /**
   * Hands leadership to `target`, or by default to the voter with the highest match index.
   * Resolves with the new leader's id; rejects with NOT_LEADER or TRANSFER_FAILED (no
   * follower, another transfer running, or not done within transferTimeoutMs).
   */
  transferLeadership(target?: NodeId): Promise<NodeId> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    // The core's role, not the one this host last published: status() reports the core's, and a
    // node the core made leader is one until its Ready is processed a moment later.
    const core = this.node.status();
    if (core.role !== "leader") return Promise.reject(notLeaderError(core.leader));
    if (this.transfer !== null) {
      return Promise.reject(new HostError("TRANSFER_FAILED", "a transfer is already running"));
    }
    const chosen = target ?? this.mostUpToDateFollower();
    if (chosen === null) {
      return Promise.reject(new HostError("TRANSFER_FAILED", "no voter to transfer to"));
    }
    return new Promise<NodeId>((resolve, reject) => {
      const timer = this.scheduler.setTimer(() => {
        this.transfer = null;
        reject(
          new HostError(
            "TRANSFER_FAILED",
            `transfer to ${chosen} did not finish within ${this.options.transferTimeoutMs} ms`,
          ),
        );
      }, this.options.transferTimeoutMs);
      this.transfer = { target: chosen, resolve, reject, timer };
      try {
        this.node.transferLeadership(chosen);
      } catch (error) {
        this.scheduler.clearTimer(timer);
        this.transfer = null;
        reject(error as Error);
        return;
      }
      this.logger.info({ target: chosen }, "leadership transfer started");
      this.scheduleProcess();
    });
  }

  status(): HostStatus {
    const status = this.node.status();
    return {
      ...status,
      healthy: this.healthy(),
      failure: this.failureReason(),
      storageFailing: this.storageFailure !== null,
      heardFromMsAgo: this.heardFromMsAgo(),
      durableAppliedIndex: this.storage.appliedIndex(),
      snapshotIndex: this.storage.snapshot().metadata.index,
      snapshotBytes: this.storage.snapshot().data.byteLength,
      logEntries: this.storage.logEntries(),
      logBytes: this.storage.logBytes(),
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
      storage: { ...this.storage.stats },
      groupCommit: { ...this.committer.stats },
    };
  }

  /**
   * Resolves once a synced batch went through the ordered writer (for /healthz); rejects with
   * UNHEALTHY or STOPPED when the host takes no writes. It carries the state machine's pending
   * changes, so it is never wasted work.
   */
  async checkStorageWritable(): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) throw refusal;
    try {
      await this.committer.submit({ mustSync: true });
    } catch (error) {
      this.fail(error as Error);
      throw this.refusal() ?? (error as Error);
    }
  }

  /** True while the host takes writes (storage writable, not stopped). */
  healthy(): boolean {
    return this.failure === null && this.storageFailure === null && !this.stopped;
  }

  /** Role/leader/term changes; the lease manager uses `atMs` of becoming leader. */
  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  /** Every batch of applied entries with their results (all entries, proposed here or not). */
  onApply(
    listener: (entries: readonly Entry[], results: ReadonlyArray<Result | undefined>) => void,
  ): () => void {
    this.applyListeners.add(listener);
    return () => this.applyListeners.delete(listener);
  }

  /** The members as of the applied index (voters, learners and their peer addresses). */
  appliedMembers(): ClusterMembers {
    return copyMembers(this.members);
  }

  /**
   * Called with each membership change as it is appended to this node's log (it takes effect in
   * Raft then, before it commits): the transport must reach a new member from that moment.
   */
  onConfChangeAppended(listener: (change: ConfChange) => void): () => void {
    this.appendedChangeListeners.add(listener);
    return () => this.appendedChangeListeners.delete(listener);
  }

  /**
   * Called with the removed nodes the leader still heartbeats (departingPeersOf) each time they
   * change: the transport must keep their links though the members no longer list them.
   */
  onDepartingChange(listener: (ids: readonly NodeId[]) => void): () => void {
    this.departingListeners.add(listener);
    return () => this.departingListeners.delete(listener);
  }

  /**
   * Called with the index of each snapshot installed from the leader, once the state machine
   * holds it: what was applied before is replaced without entries (onApply hears nothing of it).
   */
  onSnapshotInstalled(listener: (index: number) => void): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  /** Called with the members each time applied config entries (or a snapshot) change them. */
  onMembersChange(listener: (members: ClusterMembers) => void): () => void {
    this.membersListeners.add(listener);
    return () => this.membersListeners.delete(listener);
  }

  /**
   * Snapshots the durable state (at the durable applied index, after flushing the table's
   * pending changes) and compacts the log behind it. The table is dumped from LevelDB while the
   * node goes on: nothing waits for it. Returns the snapshot index, or null when there was
   * nothing to compact or a compaction was already running.
   */
  async compact(): Promise<number | null> {
    const refusal = this.refusal();
    if (refusal !== null) throw refusal;
    if (this.compacting) return null;
    this.compacting = true;
    const run = this.compactNow();
    this.compaction = run.catch(() => null);
    let index: number | null;
    try {
      index = await run;
    } finally {
      this.compacting = false;
      this.compaction = null;
    }
    // Entries applied while it ran could not start another (maybeCompact runs after applies):
    // a burst whose last applies landed then would leave the log over its bound until more came.
    if (index !== null && this.running()) this.maybeCompact();
    return index;
  }

  private async compactNow(): Promise<number | null> {
    const started = this.options.now();
    // Flush the table's changes (and applied index) through the ordered writer first, so the
    // snapshot covers everything applied so far.
    await this.committer.submit({ mustSync: true });
    const before = { entries: this.storage.logEntries(), bytes: this.storage.logBytes() };
    const metadata = await this.storage.createSnapshot();
    if (metadata === null) return null;
    if (!this.stopped) this.node.compacted(metadata.index);
    this.logger.info(
      {
        index: metadata.index,
        term: metadata.term,
        snapshotBytes: this.storage.snapshot().data.byteLength,
        droppedEntries: before.entries - this.storage.logEntries(),
        logBytesBefore: before.bytes,
        durationMs: Math.round(this.options.now() - started),
      },
      "log compacted",
    );
    return metadata.index;
  }

  /**
   * Stops ticking and receiving, waits for writes in flight, writes the state machine's last
   * changes (synced), rejects what is still pending and closes the storage.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== null) this.scheduler.clearRepeating(this.tickTimer);
    this.unsubscribe?.();
    // A batch being retried will not be written now: its outcome stays unknown.
    if (this.committer.isFailing()) this.committer.abort(new HostError("STOPPED", "host stopped"));
    await this.compaction;
    await this.committer.idle();
    if (this.failure === null && this.storageFailure === null) {
      await this.committer.submit({ mustSync: true }).catch((error: unknown) => {
        this.logger.error({ err: error }, "final flush failed");
      });
    }
    this.rejectAll(new HostError("STOPPED", "host stopped; the outcome is unknown"));
    await this.storage.close();
    this.logger.info({}, "raft host stopped");
  }

  // ---- the ready loop --------------------------------------------------------------------------

  /**
   * The core's snapshot staging: the storage's, told to wake the core when a backlogged staging
   * has written what it held (the core holds its answer to the leader's chunk until then). A
   * staging whose writes fail tries them again until they succeed, and meanwhile the node is as
   * unhealthy as when a batch fails (the same log line, /readyz and dlock_node_healthy).
   */
  private stagingOf(): RaftConfig["snapshotStaging"] | undefined {
    if (this.storage.snapshotStaging === undefined) return undefined;
    const stagingOf = this.storage.snapshotStaging.bind(this.storage);
    const staging = (metadata: SnapshotMetadata, totalBytes: number) =>
      stagingOf(metadata, totalBytes, {
        onDrained: () => {
          if (!this.running()) return;
          this.node.snapshotStagingDrained();
          this.scheduleProcess();
        },
        onFailing: (error) => this.storageFailing(error as Error, "snapshot"),
        onRecovered: () => this.storageRecovered("snapshot"),
      });
    return staging as RaftConfig["snapshotStaging"];
  }

  /** A peer sent what no correct member would (forged or corrupted): count, log once, go on. */
  private onRaftRefused(message: Message, reason: RefusalReason): void {
    this.options.onRaftRefused?.(reason);
    if (!this.refusalLog.first(message.from, reason)) return;
    this.logger.warn(
      { from: message.from, type: message.type, term: message.term, ownTerm: this.term, reason },
      "refused a raft message from a peer (logged once per peer and reason; see dlock_raft_messages_refused_total)",
    );
  }

  private receive(message: Message): void {
    if (!this.running()) return;
    this.heardAt.set(message.from, this.options.now());
    try {
      this.node.step(message);
    } catch (error) {
      this.logger.warn({ err: error, type: message.type, from: message.from }, "message refused");
      return;
    }
    this.scheduleProcess();
  }

  /** Coalesces everything that happens in one macrotask (many proposals) into one Ready. */
  private scheduleProcess(): void {
    if (this.processScheduled) return;
    this.processScheduled = true;
    this.scheduler.defer(() => {
      this.processScheduled = false;
      this.process();
    });
  }

  private process(): void {
    if (!this.running()) return;
    // process() runs in a turn of its own (a tick or a deferred call): a fresh apply budget,
    // and a fresh send budget.
    this.appliedThisTurn = 0;
    this.releasePaced();
    try {
      while (this.node.hasReady()) this.handleReady(this.node.ready());
    } catch (error) {
      this.fail(error as Error);
    }
    // A write submitted above flushes at its batch start; with none in flight nothing would.
    if (!this.committer.busy() && this.outboxHasEntries) this.flushOutbox();
  }

  /**
   * Appends wait for the persist cycle while a synced write is in flight, and empty appends wait
   * for the next entries or tick; anything else (heartbeats, votes, snapshots) goes at once, after
   * what is held, so no peer sees its messages reordered and no heartbeat waits on the disk.
   */
  private sendOrHold(messages: Message[]): void {
    let entries = false;
    for (const message of messages) {
      if (message.type !== "append") {
        this.sendNow(messages);
        return;
      }
      if (message.entries.length > 0) entries = true;
    }
    if (entries && !this.committer.busySyncing()) {
      this.sendNow(messages);
      return;
    }
    for (const message of messages) this.outbox.push(message);
    if (entries) this.outboxHasEntries = true;
  }

  /** Sends `messages` after what is held, in one call (the transport's batch for this turn). */
  private sendNow(messages: Message[]): void {
    if (this.outbox.length === 0) {
      this.handOff(messages);
      return;
    }
    for (const message of messages) this.outbox.push(message);
    this.flushOutbox();
  }

  private flushOutbox(): void {
    if (this.outbox.length === 0) return;
    const held = this.outbox;
    this.outbox = [];
    this.outboxHasEntries = false;
    if (this.running()) this.handOff(held);
  }

  /** To the transport, within this turn's append budget per follower; the rest in later turns. */
  private handOff(messages: readonly Message[]): void {
    this.sendAdmitted(this.pacer.admit(messages));
  }

  /** A new turn's budget: what the pacer held goes out first, so each peer's order is kept. */
  private releasePaced(): void {
    this.sendAdmitted(this.pacer.nextTurn());
  }

  private sendAdmitted(messages: readonly Message[]): void {
    if (messages.length > 0) this.transport.send(messages);
    if (!this.pacer.holding() || this.pacedReleaseScheduled) return;
    this.pacedReleaseScheduled = true;
    this.scheduler.defer(() => {
      this.pacedReleaseScheduled = false;
      if (this.running()) this.releasePaced();
    });
  }

  private handleReady(ready: Ready<SnapshotBytes>): void {
    if (ready.softState !== undefined) this.onSoftState(ready.softState);
    for (const entry of ready.entries) {
      if (entry.kind !== "config" || entry.change === undefined) continue;
      for (const listener of this.appendedChangeListeners) listener(entry.change);
    }
    if (ready.messages.length > 0) this.sendOrHold(ready.messages);
    const item: InFlightReady = { ready, persisted: false, applied: false, acknowledged: false };
    this.inFlight.push(item);
    const write = this.storageWriteOf(ready);
    this.applyEarly();
    if (write === null) {
      item.persisted = true;
      this.drainPersisted();
      return;
    }
    this.persist(write).then(
      () => {
        item.persisted = true;
        this.drainPersisted();
      },
      (error: unknown) => this.fail(error as Error),
    );
  }

  /**
   * Writes a Ready. With a snapshot from the leader, the state machine decodes it in steps while
   * the storage writes it, and installSnapshot() swaps the result in: decoding a million records
   * in one go held a follower's event loop for seconds.
   */
  private persist(write: StorageWrite): Promise<unknown> {
    const snapshot = write.snapshot;
    const prepare = this.stateMachine.prepareRestore;
    const chunks = this.storage.snapshotLockRecordChunks;
    if (snapshot === undefined || prepare === undefined || chunks === undefined)
      return this.committer.submit(write);
    const { index } = snapshot.metadata;
    const { data } = snapshot;
    const prepared = (async () => {
      // Staged bytes are read from their file: once all of them are in it.
      await this.storage.snapshotBytesWritten?.(data);
      const recordsExpected = this.storage.snapshotRecordCount?.(data) ?? 0;
      let members: ClusterMembers | null = null;
      const found = (record: ClusterMembers): void => {
        members = record;
      };
      const restore = await prepare.call(
        this.stateMachine,
        index,
        chunks.call(this.storage, data, found),
        recordsExpected,
      );
      this.preparedRestores.set(index, { ...restore, members, install: () => restore.install() });
    })();
    return Promise.all([this.committer.submit(write), prepared]);
  }

  private storageWriteOf(ready: Ready<SnapshotBytes>): StorageWrite | null {
    const hasEntries = ready.entries.length > 0;
    // Nothing to write, or only a new commit index (the core asks to sync any other change): a
    // batch of its own would cost a write per commit, and the commit index need not be durable.
    // A restart takes max(stored commit, applied), and commits the rest again from a quorum.
    if (!ready.mustSync && !hasEntries && ready.snapshot === undefined) return null;
    const write: StorageWrite = { mustSync: ready.mustSync };
    if (hasEntries) write.entries = ready.entries;
    if (ready.hardState !== undefined) write.hardState = ready.hardState;
    if (ready.snapshot !== undefined) {
      write.snapshot = ready.snapshot;
      this.installingSnapshotIndex = ready.snapshot.metadata.index;
    }
    return write;
  }

  /**
   * Finishes persisted Readies from the head, in order, applying about applyEntriesPerTurnMax
   * committed entries per turn of the event loop: past that it yields through the scheduler and
   * goes on in a later turn, so ticks (heartbeats) and messages are not held up by a long catch-up.
   */
  private drainPersisted(): void {
    if (this.stopped || this.failure !== null || this.drainDeferred) return;
    if (this.sendAcknowledgementsFirst()) {
      this.deferDrain();
      return;
    }
    // Persisted Readies are finished even right after a recovery: they were written.
    try {
      while (this.inFlight[0]?.persisted === true) {
        if (this.appliedThisTurn >= this.options.applyEntriesPerTurnMax) {
          this.deferDrain();
          return;
        }
        if (this.changesWaitForBatch()) {
          this.holdDrainForChanges();
          return;
        }
        const item = this.inFlight.shift() as InFlightReady;
        if (!item.applied) this.appliedThisTurn += item.ready.committedEntries.length;
        this.afterPersist(item);
      }
      // Entries whose write just finished may be applied now, ahead of the Readies carrying them.
      this.applyEarly();
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    // Advancing may have committed entries (a leader's own write counts now): take them soon.
    if (this.node.hasReady()) this.scheduleProcess();
  }

  /**
   * A follower sends what its persisted Readies answer (the acknowledgements a leader's commit
   * waits for) and applies their committed entries in a later turn, after the transport wrote the
   * answers at this turn's end: applied first, the apply delayed every acknowledgement, and a
   * serial client's next commit with it. Returns whether the drain waits for that later turn.
   * Not around a snapshot, whose install comes before its answer.
   */
  private sendAcknowledgementsFirst(): boolean {
    if (this.role === "leader") return false;
    let sends = false;
    let applies = false;
    for (const item of this.inFlight) {
      if (!item.persisted) break;
      if (item.ready.snapshot !== undefined) return false;
      if (!item.acknowledged && item.ready.messagesAfterPersist.length > 0) sends = true;
      if (item.ready.committedEntries.length > 0 && !item.applied) applies = true;
    }
    if (!sends || !applies) return false;
    for (const item of this.inFlight) {
      if (!item.persisted) break;
      if (item.acknowledged) continue;
      item.acknowledged = true;
      if (item.ready.messagesAfterPersist.length > 0) this.sendNow(item.ready.messagesAfterPersist);
    }
    return true;
  }

  /**
   * Whether applying more must wait until a batch takes the state machine's changes: the turn
   * that builds the batch encodes every changed record, and a follower catching up after a
   * snapshot install applied ~25k entries while one write was in flight, then encoded their
   * records in one turn of ~100 ms. Held, a batch carries at most stateChangesPerBatchMax records
   * (plus one Ready's entries); the disk sets the pace of a catch-up anyway.
   */
  private changesWaitForBatch(): boolean {
    const pending = this.stateMachine.changesPending;
    return (
      pending !== undefined &&
      pending.call(this.stateMachine) >= this.options.stateChangesPerBatchMax
    );
  }

  /**
   * Holds applies until the next batch takes the changes, and makes sure there is one: a write in
   * flight took its changes when it started, and nothing else may follow it. (Queued only while
   * idle, a hold that came during a write waited for the next tick's idle-changes write, 50 ms.)
   * With other writes queued the empty one joins their batch and costs nothing.
   */
  private holdDrainForChanges(): void {
    if (this.drainHeldForChanges) return;
    this.drainHeldForChanges = true;
    this.committer.submit({}).catch((error: unknown) => this.fail(error as Error));
  }

  /** A batch took the changes: held applies go on in a later turn. */
  private releaseHeldDrain(): void {
    if (!this.drainHeldForChanges) return;
    this.drainHeldForChanges = false;
    if (!this.drainDeferred) this.deferDrain();
  }

  private deferDrain(): void {
    this.drainDeferred = true;
    this.scheduler.defer(() => {
      this.drainDeferred = false;
      this.appliedThisTurn = 0;
      this.drainPersisted();
    });
  }

  /**
   * A leader applies committed entries as soon as its own copies are durable, instead of after the
   * write of the Ready that carries them (which also carries the proposals that came meanwhile,
   * and takes a whole fsync). The entries are on a majority's disks (they are committed), every
   * one of them up to the last applied here was written by a finished write (none is in a Ready
   * still being written), and the applied index rides in a batch after those writes. In order
   * only; never across a snapshot or a config entry (they change members when applied), never
   * over the turn's apply budget: those wait for afterPersist, as everything did before.
   */
  private applyEarly(): void {
    if (this.role !== "leader" || this.installingSnapshotIndex !== 0 || this.drainDeferred) return;
    if (this.changesWaitForBatch()) return;
    // The lowest index a write still in flight carries: entries from it on are not durable here.
    let writingIndexMin = Number.MAX_SAFE_INTEGER;
    for (const item of this.inFlight) {
      if (item.persisted) continue;
      if (item.ready.snapshot !== undefined) return;
      const first = item.ready.entries[0];
      if (first !== undefined && first.index < writingIndexMin) writingIndexMin = first.index;
    }
    for (const item of this.inFlight) {
      const entries = item.ready.committedEntries;
      if (item.ready.snapshot !== undefined) return;
      if (item.applied || entries.length === 0) continue;
      const last = entries[entries.length - 1]!;
      if (last.index >= writingIndexMin) return;
      if (this.appliedThisTurn + entries.length > this.options.applyEntriesPerTurnMax) return;
      for (const entry of entries) if (entry.kind === "config") return;
      item.applied = true;
      this.appliedThisTurn += entries.length;
      this.apply(entries);
    }
  }

  private afterPersist(item: InFlightReady): void {
    const { ready } = item;
    if (ready.snapshot !== undefined)
      this.installSnapshot(ready.snapshot.metadata.index, ready.snapshot.data);
    if (!item.acknowledged && ready.messagesAfterPersist.length > 0)
      this.sendNow(ready.messagesAfterPersist);
    this.node.advance(ready);
    if (ready.snapshot !== undefined) this.node.appliedTo(ready.snapshot.metadata.index);
    if (ready.committedEntries.length > 0 && !item.applied) this.apply(ready.committedEntries);
    for (const state of ready.readStates) {
      const read = this.reads.get(state.requestId);
      if (read === undefined) continue;
      read.index = state.index;
      if (state.index <= this.stateMachine.appliedIndex()) {
        this.reads.delete(state.requestId);
        read.resolve();
      } else {
        this.waitingReads.push(state.requestId);
      }
    }
    for (const id of ready.droppedReads) {
      const read = this.reads.get(id);
      if (read === undefined) continue;
      this.reads.delete(id);
      read.reject(new HostError("READ_DROPPED", "read could not be confirmed by this leader"));
    }
  }

  /** The storage holds the leader's snapshot now: make the state machine and members match it. */
  private installSnapshot(index: number, data: SnapshotBytes): void {
    let locks: number;
    let members: ClusterMembers | null;
    // Snapshots are installed in index order: any prepared at or below this one is done with.
    const prepared = this.preparedRestores.get(index);
    for (const at of this.preparedRestores.keys())
      if (at <= index) this.preparedRestores.delete(at);
    if (prepared !== undefined) {
      prepared.install();
      locks = prepared.records;
      members = prepared.members;
    } else {
      const contents = this.storage.snapshotContents(
        data instanceof Uint8Array ? data : data.subarray(0, data.byteLength),
      );
      this.stateMachine.restore(index, contents.records);
      locks = contents.records.length;
      members = contents.members;
    }
    // Both the storage and the state machine are done with the bytes.
    this.storage.releaseSnapshotBytes?.(data);
    this.lastWrittenApplied = index;
    if (this.installingSnapshotIndex === index) this.installingSnapshotIndex = 0;
    if (members !== null) {
      this.setMembers(members, false);
      this.node.rememberRemovedVoters(members.removedVoters ?? []);
    }
    for (const [slot, proposal] of this.proposals.entries()) {
      if (slot > index) break;
      this.proposals.delete(slot);
      proposal.reject(
        new HostError("OUTCOME_UNKNOWN", `entry ${slot} was replaced by a snapshot at ${index}`),
      );
    }
    for (const listener of this.snapshotListeners) listener(index);
    this.serveReads();
    this.logger.info({ index, snapshotBytes: data.byteLength, locks }, "snapshot installed");
  }

  private setMembers(members: ClusterMembers, changed: boolean): void {
    // First: a removal that committed made its node departing before the members drop it.
    this.publishDeparting();
    this.members = members;
    this.membersChanged = changed;
    for (const listener of this.membersListeners) listener(copyMembers(members));
  }

  private apply(entries: Entry[]): void {
    const last = entries.at(-1);
    if (last === undefined) return;
    const results = this.stateMachine.apply(entries);
    // Listeners hear the members once per batch: a founder applies its founding entries (one per
    // member) together, and the peer transport must not drop and redial members in between.
    let members = this.members;
    for (const entry of entries) {
      if (entry.kind === "config" && entry.change !== undefined) {
        members = applyMemberChange(members, entry.change, entry.index);
      }
    }
    if (members !== this.members) this.setMembers(members, true);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const proposal = this.proposals.get(entry.index);
      if (proposal === undefined) continue;
      this.proposals.delete(entry.index);
      if (proposal.term === entry.term) proposal.resolve(results[i]);
      else {
        proposal.reject(
          new HostError(
            "PROPOSAL_LOST",
            `entry ${entry.index} of term ${proposal.term} was replaced by term ${entry.term}`,
          ),
        );
      }
    }
    this.node.appliedTo(last.index);
    for (const listener of this.applyListeners) listener(entries, results);
    this.serveReads();
    this.maybeCompact();
  }

  /**
   * Keeps the log above the snapshot under compactionEntries entries and compactionBytes bytes:
   * a compaction starts at COMPACTION_START of a limit, so the entries appended while it runs
   * fit in the rest. A leader holds off while it streams a snapshot to a follower (a new
   * snapshot would restart that transfer from its first byte) until the log reaches a limit.
   */
  private maybeCompact(): void {
    if (this.compacting) return;
    const { compactionEntries, compactionBytes } = this.options;
    const entries = this.storage.logEntries();
    const bytes = this.storage.logBytes();
    const over = (factor: number): boolean =>
      (compactionEntries > 0 && entries >= compactionEntries * factor) ||
      (compactionBytes > 0 && bytes >= compactionBytes * factor);
    if (this.bugs.compactWhileSendingSnapshot === true && this.compactForSnapshotBug()) {
      return;
    }
    if (!over(COMPACTION_START)) return;
    // The state machine's applied index, not the durable one: compactNow() writes it first, and
    // the burst's last applies are often not yet written when the check runs.
    if (this.stateMachine.appliedIndex() <= this.storage.snapshot().metadata.index) return;
    if (this.role === "leader" && this.sendingSnapshot() && !over(1)) return;
    this.compact().catch((error: unknown) => {
      this.logger.warn({ err: error }, "compaction failed");
    });
  }

  // The deliberate bug compactWhileSendingSnapshot: a new snapshot at every apply while one is
  // being sent (a line comment, so the declaration files do not carry it).
  private compactForSnapshotBug(): boolean {
    if (this.role !== "leader" || !this.sendingSnapshot()) return false;
    if (this.stateMachine.appliedIndex() <= this.storage.snapshot().metadata.index) return false;
    this.compact().catch((error: unknown) => {
      this.logger.warn({ err: error }, "compaction failed");
    });
    return true;
  }

  private sendingSnapshot(): boolean {
    const progress = this.node.status().progress;
    if (progress === undefined) return false;
    for (const id in progress) if (progress[id]?.state === "snapshot") return true;
    return false;
  }

  private serveReads(): void {
    if (this.waitingReads.length === 0) return;
    const applied = this.stateMachine.appliedIndex();
    const still: number[] = [];
    for (const id of this.waitingReads) {
      const read = this.reads.get(id);
      if (read === undefined) continue;
      if (read.index <= applied) {
        this.reads.delete(id);
        read.resolve();
      } else still.push(id);
    }
    this.waitingReads = still;
  }

  /**
   * Changes applied with no Ready to carry them, written unsynced at a tick (the log holds them)
   * instead of in a batch of their own at once: the next batch (the commit index's, or the next
   * proposal's) almost always takes them first.
   */
  private writeIdleStateChanges(): void {
    if (!this.running() || this.committer.busy() || !this.hasStateChanges()) return;
    this.committer.submit({}).catch((error: unknown) => this.fail(error as Error));
  }

  private hasStateChanges(): boolean {
    return this.membersChanged || this.stateMachine.appliedIndex() !== this.lastWrittenApplied;
  }

  /** The state machine's changes since the last batch, written last in the next one. */
  private collectStateChanges(): StorageWrite | undefined {
    const applied = this.stateMachine.appliedIndex();
    if (this.installingSnapshotIndex > applied) {
      // Changes of the state the leader's snapshot replaces (the storage writes the snapshot's
      // records with it): dropped, or they would overwrite the newer state on disk.
      this.stateMachine.takeChanges();
      this.releaseHeldDrain();
      return undefined;
    }
    const changes = this.stateMachine.takeChanges();
    this.releaseHeldDrain();
    if (changes.length === 0 && applied === this.lastWrittenApplied && !this.membersChanged) {
      return undefined;
    }
    this.lastWrittenApplied = applied;
    const write: StorageWrite = { lockRecords: changes, appliedIndex: applied };
    if (this.membersChanged) {
      write.members = copyMembers(this.members);
      this.membersChanged = false;
    }
    return write;
  }

  private onSoftState(state: { role: Role; leader: NodeId | null; term: number }): void {
    if (state.role === this.role && state.leader === this.leader && state.term === this.term)
      return;
    const previousRole = this.role;
    this.role = state.role;
    this.leader = state.leader;
    this.term = state.term;
    const change: RoleChange = { ...state, atMs: this.options.now() };
    if (previousRole !== state.role) {
      this.logger.info(
        { role: state.role, term: state.term, leader: state.leader },
        "role changed",
      );
    }
    if (this.transfer !== null && state.role !== "leader") {
      const transfer = this.transfer;
      // Stepping down first shows "no leader" until the target wins its election: wait for a name.
      if (state.leader !== null) {
        this.transfer = null;
        this.scheduler.clearTimer(transfer.timer);
        if (state.leader === transfer.target) transfer.resolve(transfer.target);
        else {
          transfer.reject(
            new HostError(
              "TRANSFER_FAILED",
              `leadership moved to ${state.leader}, not ${transfer.target}`,
            ),
          );
        }
      }
    }
    // Reads wait on this leader's quorum; once it is not the leader they cannot complete.
    if (previousRole === "leader" && state.role !== "leader") {
      for (const [id, read] of this.reads) {
        this.reads.delete(id);
        read.reject(notLeaderError(state.leader));
      }
      this.waitingReads = [];
    }
    for (const listener of this.roleListeners) listener(change);
  }

  private mostUpToDateFollower(): NodeId | null {
    const status = this.node.status();
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const voter of status.confState.voters) {
      if (voter === this.id) continue;
      const match = status.progress?.[voter]?.match ?? 0;
      if (match > bestMatch) {
        best = voter;
        bestMatch = match;
      }
    }
    return best;
  }

  private refusal(): Error | null {
    if (this.stopped) return new HostError("STOPPED", "host stopped");
    if (this.failure !== null) {
      return new HostError("UNHEALTHY", `host failed: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
    if (this.storageFailure !== null) {
      return new HostError("UNHEALTHY", this.failureReason() ?? "storage is failing", {
        cause: this.storageFailure,
      });
    }
    return null;
  }

  private heardFromMsAgo(): Record<NodeId, number> {
    const now = this.options.now();
    const out: Record<NodeId, number> = {};
    for (const [id, at] of this.heardAt) out[id] = Math.max(0, Math.round(now - at));
    return out;
  }

  private failureReason(): string | null {
    if (this.failure !== null) return `host failed: ${this.failure.message}`;
    if (this.storageFailure !== null) {
      const cause = (this.storageFailure as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? `: ${cause.message}` : "";
      return `cannot write to the data folder (${this.storageFailure.message}${detail}); no writes until a write succeeds`;
    }
    return this.stopped ? "stopped" : null;
  }

  /** Ticks, receives and produces Readies only while healthy. */
  private running(): boolean {
    return !this.stopped && this.failure === null && this.storageFailure === null;
  }

  private startTicking(): void {
    this.tickTimer = this.scheduler.setRepeating(() => {
      this.node.tick();
      this.process();
      // Bounds how long a slow write or a quiet client holds appends (and sends the loss checks
      // and probes this tick made).
      this.flushOutbox();
      this.writeIdleStateChanges();
      this.checkTransferAbandoned();
      this.publishDeparting();
    }, this.options.tickMs);
  }

  /** The core forgets a departing node when it confirms, times out, or we stop leading. */
  private publishDeparting(): void {
    // Only a leader has departing nodes: a follower need not build its status every tick.
    if (this.role !== "leader" && this.departing.length === 0) return;
    const departing = departingPeersOf(this.node.status());
    if (sameIds(departing, this.departing)) return;
    this.departing = departing;
    for (const listener of this.departingListeners) listener(departing);
  }

  /**
   * The core gives a transfer up after one election timeout (the target never caught up or never
   * answered) and leads on: fail it then, not at transferTimeoutMs, so a stopping leader can try
   * another follower.
   */
  private checkTransferAbandoned(): void {
    const transfer = this.transfer;
    if (transfer === null || this.role !== "leader") return;
    if (this.node.status().transferee === transfer.target) return;
    this.transfer = null;
    this.scheduler.clearTimer(transfer.timer);
    transfer.reject(
      new HostError(
        "TRANSFER_FAILED",
        `transfer to ${transfer.target} abandoned: it did not take over within an election timeout`,
      ),
    );
  }

  /**
   * A batch (or a chunk of a leader's snapshot) could not be written; it is retried. Until it is
   * written nothing is acknowledged that depends on it (messagesAfterPersist, advance, apply all
   * wait for it), and the node stops ticking (no elections, no heartbeats: peers see a paused
   * node and a leader is replaced) and refuses requests, so clients go to another node.
   */
  private storageFailing(error: Error, writing: "batches" | "snapshot"): void {
    if (this.stopped || this.failure !== null) return;
    this.failingWrites.add(writing);
    if (this.storageFailure !== null) return;
    this.storageFailure = error;
    if (this.tickTimer !== null) this.scheduler.clearRepeating(this.tickTimer);
    this.tickTimer = null;
    this.logger.error(
      { err: error, writing },
      "cannot write to the data folder; refusing requests and retrying the same write until it succeeds",
    );
    this.rejectAll(new HostError("UNHEALTHY", this.failureReason() ?? "storage is failing"));
  }

  /** `writing` works again; the node resumes once nothing else is failing. */
  private storageRecovered(writing: "batches" | "snapshot"): void {
    this.failingWrites.delete(writing);
    if (this.storageFailure === null || this.failingWrites.size > 0) return;
    this.storageFailure = null;
    this.logger.warn({}, "writes to the data folder no longer fail; resuming");
    if (this.stopped || this.failure !== null) return;
    this.startTicking();
    this.scheduleProcess();
  }

  private fail(error: Error): void {
    if (this.failure !== null || this.stopped) return;
    this.failure = error;
    if (this.tickTimer !== null) this.scheduler.clearRepeating(this.tickTimer);
    this.tickTimer = null;
    this.logger.error({ err: error }, "raft host failed; it takes no more writes");
    this.rejectAll(
      new HostError("UNHEALTHY", `storage failed: ${error.message}`, { cause: error }),
    );
  }

  private rejectAll(error: HostError): void {
    const proposals = this.proposals.entries();
    this.proposals.clear();
    for (const [, proposal] of proposals) proposal.reject(error);
    for (const read of this.reads.values()) read.reject(error);
    this.reads.clear();
    this.waitingReads = [];
    if (this.transfer !== null) {
      this.scheduler.clearTimer(this.transfer.timer);
      this.transfer.reject(error);
      this.transfer = null;
    }
  }
}
