import { resolveRaftConfig, TERM_MAX } from "./config.js";
import type { RaftConfig, RefusalReason, ResolvedRaftConfig } from "./config.js";
import type { PlantedBugs } from "./planted-bugs.js";
import { plantedBugsOf } from "./planted-bugs.js";
import { EMPTY_BYTES, EMPTY_ENTRIES, entriesBytes } from "./entry-size.js";
import { ProposalDroppedError, RaftError, notLeaderError } from "./errors.js";
import { Departures } from "./departures.js";
import { confChangeProblem, Membership } from "./membership.js";
import type { RaftNode } from "./node-api.js";
import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, voteResult } from "./quorum.js";
import { RaftLog } from "./raft-log.js";
import { ReadOnly } from "./read-only.js";
import { SnapshotAssembler } from "./snapshot-assembler.js";
import type { Storage } from "./storage.js";
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Message,
  NodeId,
  ProgressStatus,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotBytes,
  SnapshotChunk,
  SnapshotResponse,
  SoftState,
  Status,
  VoteRequest,
  VoteResponse,
} from "./types.js";

type CampaignKind = "preVote" | "vote" | "transfer";

/**
 * One Raft node (etcd's raft + RawNode in one class). Pure and synchronous: the host drives it with
 * tick()/step()/propose() and drains ready()/advance(). See Ready for the persistence contract.
 *
 * Role behaviour lives in the become* transitions and the per-role step/tick methods; the role only
 * changes there, and an impossible transition (follower → leader, leader → candidate) throws.
 */
export class RawNode<Bytes extends SnapshotBytes = Uint8Array> implements RaftNode<Bytes> {
  readonly id: NodeId;
  private readonly config: ResolvedRaftConfig<Bytes>;
  // Deliberate bugs (planted-bugs.ts). The branches stay here, next to the correct code they
  // replace, but only @dlock/raft/internal can set them: the public RaftConfig has no such field.
  // (A line comment: it stays out of the published declarations.)
  private readonly bugs: Required<PlantedBugs>;
  private readonly storage: Storage;
  private readonly log: RaftLog;
  private readonly membership: Membership;

  private term = 0;
  private vote: NodeId | null = null;
  private leader: NodeId | null = null;
  private role: Role = "follower";

  /** Ticks since the last election timeout reset (or, on a leader, the last quorum check). */
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Drawn from [electionTicks, 2*electionTicks) on every reset, with config.random only. */
  private randomizedElectionTimeout = 0;

  /** Leader only: one Progress per member other than... every member, self included. */
  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private leadTransferee: NodeId | null = null;
  /** Follower only: the transfer target our leader announced in its last heartbeat, if any. */
  private announcedTransferee: NodeId | null = null;
  /** Leader only: the highest index sent to each follower in this term (acks above it are forged). */
  private readonly sentIndexMax = new Map<NodeId, number>();
  /**
   * The persisted term is above TERM_MAX (only an older version could have accepted one): we
   * neither vote nor campaign until a leader of a sane term gives us its term (leaveQuarantine).
   */
  private quarantined = false;
  /** The highest term each voter sent us while it was beyond termAheadMax above ours (and still is above ours). */
  private readonly farAheadTerms = new Map<NodeId, number>();
  /** Leader only: payload bytes of entries appended in this term and not yet committed. */
  private uncommittedBytes = 0;
  /** Leader only: an entry of the current term is committed (ReadIndex may proceed). */
  private committedInTerm = false;
  /** Leader only: new entries or a new commit index wait to be broadcast at the next ready(). */
  private broadcastPending = false;
  private readonly readOnly = new ReadOnly();
  /** Leader only: removed voters heartbeated until they show they know their removal committed. */
  private readonly departures = new Departures();
  private snapshotAssembler: SnapshotAssembler<Bytes> | null = null;

  private messages: Message[] = [];
  private messagesAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  private droppedReads: number[] = [];

  private lastSoftState: SoftState;
  private lastHardState: HardState;
  private readyId = 0;
  private readonly matchScratch: number[] = [];
  /** Bound once: the commit computation runs on every acknowledgement. */
  private readonly matchOf = (id: NodeId): number => this.progress.get(id)?.match ?? 0;

  constructor(config: RaftConfig<Bytes>, storage: Storage) {
    this.config = resolveRaftConfig(config);
    this.bugs = plantedBugsOf(config);
    this.id = this.config.id;
    this.storage = storage;
    const { hardState, confState } = storage.initialState();
    this.log = new RaftLog(storage, this.config.applied, hardState.commit);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.membership = new Membership(confState);
    if (hardState.term > TERM_MAX) {
      this.quarantined = true;
      this.config.logger?.warn(
        { id: this.id, term: hardState.term, termMax: TERM_MAX },
        "persisted term is above the ceiling: waiting for a leader",
      );
    }
    // The stored ConfState is the one of the last snapshot (or bootstrap); config entries after it
    // took effect when they were appended, so replay them.
    const snapshotIndex = storage.snapshot().metadata.index;
    const from = Math.max(storage.firstIndex(), snapshotIndex + 1);
    this.replayConfigEntries(from, storage.lastIndex());
    this.lastHardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.lastSoftState = { role: this.role, leader: this.leader, term: this.term };
    this.becomeFollower(this.term, null);
  }

  // ---- Public driver API --------------------------------------------------------------------

  tick(): void {
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    const refusal = this.refusalOf(m);
    if (refusal !== null) {
      if (refusal === "notMember" && (m.type === "preVote" || m.type === "vote")) {
        this.noticeRemovedVoter(m.from);
      }
      this.config.onRefused?.(m, refusal);
      return;
    }
    if (this.quarantined && !this.leaveQuarantine(m)) return;
    if (m.term > this.term) {
      if (m.type === "preVote" || m.type === "vote") {
        // Check-quorum lease: while we hear from a live leader, a (pre-)candidate cannot disrupt it
        // unless the leader itself asked for the election (a transfer it announced: refusalOf).
        if (this.inLease() && !m.transfer) return;
      }
      if (m.type === "preVote") {
        // A pre-vote never changes our term.
      } else if (m.type === "preVoteResp" && m.granted) {
        // Granted pre-votes carry the term we would campaign in; counted below.
      } else {
        const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }

    switch (m.type) {
      case "preVote":
      case "vote":
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
    }
  }

  propose(data: Uint8Array): { index: number; term: number } {
    if (this.role !== "leader") throw notLeaderError(this.leader);
    if (this.leadTransferee !== null) {
      throw new ProposalDroppedError(`leadership transfer to ${this.leadTransferee} in progress`);
    }
    const bytes = data.byteLength;
    // An oversized proposal is still accepted into an empty window so it cannot starve forever.
    if (
      this.uncommittedBytes > 0 &&
      this.uncommittedBytes + bytes > this.config.uncommittedBytesMax
    ) {
      throw new ProposalDroppedError(
        `uncommitted log is ${this.uncommittedBytes} bytes (limit ${this.config.uncommittedBytesMax})`,
      );
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind: "normal", data };
    this.appendAsLeader([entry]);
    return { index: entry.index, term: entry.term };
  }

  proposeConfChange(change: ConfChange): { index: number; term: number } {
    if (this.role !== "leader") throw notLeaderError(this.leader);
    if (this.leadTransferee !== null) {
      throw new RaftError(
        "TRANSFER_IN_PROGRESS",
        `leadership transfer to ${this.leadTransferee} in progress`,
      );
    }
    const pending = this.membership.lastConfigIndex();
    if (pending > this.log.committed) {
      throw new RaftError(
        "CONF_CHANGE_IN_PROGRESS",
        `the change at index ${pending} is not committed yet (commit ${this.log.committed})`,
      );
    }
    const problem = confChangeProblem(this.membership.conf(), change);
    if (problem !== null) throw new RaftError("INVALID_CONF_CHANGE", problem);
    const entry: Entry = {
      index: this.log.lastIndex() + 1,
      term: this.term,
      kind: "config",
      data: EMPTY_BYTES,
      change: { type: change.type, nodeId: change.nodeId, context: change.context },
    };
    if (change.context === undefined) delete entry.change!.context;
    this.appendAsLeader([entry]);
    return { index: entry.index, term: entry.term };
  }

  readIndex(requestId: number): void {
    if (this.role !== "leader") throw notLeaderError(this.leader);
    if (!this.committedInTerm) {
      // Our commit index may lag the previous leader's until an entry of our term commits.
      this.readOnly.held.push(requestId);
      return;
    }
    this.serveRead(requestId);
  }

  transferLeadership(target: NodeId): void {
    if (this.role !== "leader") throw notLeaderError(this.leader);
    if (target === this.id) return;
    if (!this.membership.isVoter(target)) {
      throw new RaftError("INVALID_TRANSFER", `${target} is not a voter`);
    }
    if (this.leadTransferee === target) return;
    this.leadTransferee = target;
    // The transfer is abandoned if it has not completed within one election timeout.
    this.electionElapsed = 0;
    // Announce the target first: voters honour its transfer vote request only once announced.
    this.broadcastHeartbeat(this.readOnly.lastPendingContext());
    const pr = this.progress.get(target)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target, true);
  }

  campaign(): void {
    this.hup(this.config.preVote ? "preVote" : "vote");
  }

  hasReady(): boolean {
    return (
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.broadcastPending ||
      this.log.unstable.hasPendingEntries() ||
      (this.log.unstable.snapshot !== null && !this.log.unstable.snapshotInProgress) ||
      this.log.hasCommittedEntries() ||
      this.readStates.length > 0 ||
      this.droppedReads.length > 0 ||
      this.softStateChanged() ||
      this.hardStateChanged()
    );
  }

  ready(): Ready<Bytes> {
    if (this.role === "leader" && this.broadcastPending) this.flushBroadcast();
    this.readOnly.seal();
    const id = ++this.readyId;
    const unstable = this.log.unstable;
    const entries = unstable.pendingEntries();
    // Only received snapshots are unstable, and their bytes come from config.snapshotStaging.
    const snapshot =
      unstable.snapshot !== null && !unstable.snapshotInProgress
        ? (unstable.snapshot as Snapshot<Bytes>)
        : undefined;
    unstable.acceptInProgress();
    if (snapshot !== undefined && this.log.applying < snapshot.metadata.index) {
      this.log.applying = snapshot.metadata.index;
    }
    const committedEntries = this.log.takeCommittedEntries(this.config.committedBytesPerReadyMax);

    const ready: Ready<Bytes> = {
      id,
      entries,
      mustSync: entries.length > 0 || snapshot !== undefined,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committedEntries,
      readStates: this.readStates,
      droppedReads: this.droppedReads,
    };
    if (snapshot !== undefined) ready.snapshot = snapshot;
    if (this.softStateChanged()) {
      this.lastSoftState = { role: this.role, leader: this.leader, term: this.term };
      ready.softState = this.lastSoftState;
    }
    if (this.hardStateChanged()) {
      const hard: HardState = { term: this.term, vote: this.vote, commit: this.log.committed };
      if (hard.term !== this.lastHardState.term || hard.vote !== this.lastHardState.vote) {
        ready.mustSync = true;
      }
      this.lastHardState = hard;
      ready.hardState = hard;
    }
    this.messages = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    this.droppedReads = [];
    const lastEntryIndex = entries.at(-1)?.index ?? 0;
    this.log.beginWrite(id, lastEntryIndex, snapshot?.metadata.index ?? 0);
    return ready;
  }

  advance(ready: Ready<Bytes>): void {
    this.log.completeWrite(ready.id);
    if (this.role === "leader" && !this.bugs.acknowledgeBeforePersist) {
      // The leader counts its own copy only once it is durable.
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.persistedLastIndex())) this.maybeCommit();
    }
  }

  appliedTo(index: number): void {
    this.log.appliedTo(index);
  }

  snapshotStagingDrained(): void {
    const assembler = this.snapshotAssembler;
    if (assembler === null || assembler.answerHeldFor === null || assembler.backlogged()) return;
    const to = assembler.answerHeldFor;
    assembler.answerHeldFor = null;
    this.sendSnapshotResponse(to, assembler.metadata.index, assembler.nextOffset, false, false);
  }

  compacted(index: number): void {
    if (index > this.log.applied) {
      throw new Error(`compacted(${index}) beyond applied ${this.log.applied}`);
    }
    this.membership.compact(index);
  }

  rememberRemovedVoters(
    voters: ReadonlyArray<{ readonly id: NodeId; readonly index: number }>,
  ): void {
    for (const { id, index } of voters) this.membership.rememberCompactedRemoval(id, index);
  }

  status(): Status {
    const status: Status = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      confState: this.membership.conf(),
      transferee: this.leadTransferee,
    };
    if (this.role === "leader") {
      const progress: Record<NodeId, ProgressStatus> = {};
      for (const [id, pr] of this.progress) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          learner: pr.learner,
          recentActive: pr.recentActive,
        };
      }
      status.progress = progress;
    }
    return status;
  }

  // ---- Input guard (a peer may be faulty or hostile; see README "Input hardening") -------------

  /** Why `m` cannot come from a correct peer in our situation, or null to step it. */
  private refusalOf(m: Message): RefusalReason | null {
    if (m.term > TERM_MAX) return "termAboveCeiling";
    const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
    if (
      !fromLeader &&
      m.type !== "timeoutNow" &&
      !this.mayHearFrom(m.from) &&
      !this.isDepartureAnswer(m)
    ) {
      return "notMember";
    }
    if (this.quarantined) return null;
    const inLease = this.inLease();
    if (m.term - this.term > this.config.termAheadMax && this.refuseFarAhead(m, inLease)) {
      return "termTooFarAhead";
    }
    if (fromLeader) {
      // One leader per term; and while a live leader leads us (or we lead), another node's claim
      // of a newer term is refused unless it is the announced transfer target. A real new leader
      // reaches us once the lease runs out (one election timeout).
      if (m.term === this.term && this.leader !== null && m.from !== this.leader) {
        return "notTheLeader";
      }
      if (
        m.term > this.term &&
        inLease &&
        m.from !== this.leader &&
        m.from !== this.announcedTransferee
      ) {
        return "notTheLeader";
      }
    }
    if (m.type === "timeoutNow" && (m.term !== this.term || m.from !== this.leader)) {
      return "timeoutNowNotFromLeader";
    }
    if (m.type === "vote" && m.transfer && m.term > this.term && inLease) {
      const announced = this.role === "leader" ? this.leadTransferee : this.announcedTransferee;
      if (m.term !== this.term + 1 || m.from !== announced) return "transferNotAnnounced";
    }
    return null;
  }

  /**
   * Members may send anything. So may a voter that the newest, uncommitted change removed: it may
   * still need votes to finish its removal (see promotable()). Leaders' messages are checked
   * elsewhere: a new node does not yet know its leader is a member.
   */
  private mayHearFrom(id: NodeId): boolean {
    if (this.membership.isMember(id)) return true;
    return (
      this.membership.lastConfigIndex() > this.log.committed &&
      this.membership.wasVoterBeforeLastChange(id)
    );
  }

  /**
   * A departing voter's answer to our appends and heartbeats, in our term or older (a higher one
   * is a campaign of a non-member, which must not depose us).
   */
  private isDepartureAnswer(m: Message): boolean {
    return (
      this.role === "leader" &&
      this.departures.has(m.from) &&
      m.term <= this.term &&
      (m.type === "appendResp" || m.type === "heartbeatResp" || m.type === "snapshotResp")
    );
  }

  /**
   * A voter whose removal committed asks us, the leader, for votes: it does not know (the leader
   * that committed the removal died before telling it), and would campaign for ever (members
   * refuse it, but a member that lags behind the removal could take its term). Tell it as that
   * leader would have (startDepartures), from a fresh progress: its log is unknown to us. Only a
   * vote request shows it does not know; its other messages (late answers to a departure we
   * finished) would start tracking a node that already knows, again and again. The request itself
   * stays refused: it never moves our term.
   */
  private noticeRemovedVoter(id: NodeId): void {
    if (this.role !== "leader" || id === this.id || this.departures.has(id)) return;
    const configIndex = this.membership.removalIndexOf(id);
    if (configIndex === 0 || configIndex > this.log.committed) return;
    this.addProgress(id, this.log.lastIndex() + 1);
    const context = this.readOnly.newContext();
    this.departures.start(id, { configIndex, context, ticksLeft: this.departureTicks() });
    // Logged once per node: one that cannot be reached asks again every ten election timeouts.
    const log = this.departures.gaveUpBefore(id) ? "debug" : "info";
    this.config.logger?.[log](
      { id: this.id, removed: id, configIndex },
      "telling a removed voter that its removal committed",
    );
    this.sendAppend(id, true);
  }

  /**
   * A term more than termAheadMax above ours. One member cannot move us that far; a majority of
   * the other voters can (a node partitioned through that many elections hears from all of
   * them): while we have no live leader we take the highest term they each sent us, from any
   * message, not only a leader's. When the others cannot elect without our vote (too few of them
   * are up, or our log is the newest) no leader would ever come to give us its term: we would all
   * stay (pre-)candidates. Returns whether `m` stays refused (its term is still too far ahead).
   */
  private refuseFarAhead(m: Message, inLease: boolean): boolean {
    if (this.membership.isVoter(m.from) && m.from !== this.id) {
      this.farAheadTerms.set(m.from, Math.max(m.term, this.farAheadTerms.get(m.from) ?? 0));
    }
    if (inLease) return true;
    const quorumTerm = this.farAheadQuorumTerm();
    if (quorumTerm > this.term) {
      this.config.logger?.warn(
        { id: this.id, term: quorumTerm, previousTerm: this.term },
        "took the term a majority of the other voters is in",
      );
      this.becomeFollower(quorumTerm, null);
    }
    return m.term - this.term > this.config.termAheadMax;
  }

  /**
   * The highest term that a majority of the voters other than us each sent us (when it was beyond
   * termAheadMax above ours), or 0: one member's higher claim does not raise it.
   */
  private farAheadQuorumTerm(): number {
    const others = this.membership.voterList.filter((id) => id !== this.id);
    return committedIndex(others, (id) => this.farAheadTerms.get(id) ?? 0, this.matchScratch);
  }

  /** Check-quorum lease: we heard from a live leader within an election timeout (or we lead). */
  private inLease(): boolean {
    return (
      this.config.checkQuorum &&
      this.leader !== null &&
      this.electionElapsed < this.config.electionTicks
    );
  }

  /**
   * In quarantine only a leader's message (append, heartbeat, snapshot), whose term is sane
   * (refusalOf) and not older than our log, lets us out: we take its term with our vote recorded
   * for that leader, so we can never help elect another leader in that term; nothing else is
   * answered. What lowering the term forgets is a vote cast before the jump in a term above the
   * leader's: it matters only if a candidate of that older term is still campaigning (README).
   */
  private leaveQuarantine(m: Message): boolean {
    if (m.type !== "append" && m.type !== "heartbeat" && m.type !== "snapshot") return false;
    // Our log holds entries of lastTerm, so a leader of an older term is stale: wait for another.
    if (m.term < this.log.lastTerm()) return false;
    this.config.logger?.warn(
      { id: this.id, term: m.term, leader: m.from, quarantinedTerm: this.term },
      "left quarantine: took the term of a leader",
    );
    this.quarantined = false;
    this.term = m.term;
    this.vote = m.from;
    this.becomeFollower(m.term, m.from);
    return true;
  }

  // ---- Role transitions -----------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
      // Kept across our own elections: without pre-vote each one would forget them again.
      for (const [id, shown] of this.farAheadTerms)
        if (shown <= term) this.farAheadTerms.delete(id);
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.announcedTransferee = null;
    this.sentIndexMax.clear();
    this.votes.clear();
    this.progress.clear();
    this.departures.clear();
    this.uncommittedBytes = 0;
    this.committedInTerm = false;
    this.broadcastPending = false;
    const dropped = this.readOnly.dropAll();
    for (const id of dropped) this.droppedReads.push(id);
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
    this.config.logger?.debug({ id: this.id, term, leader }, "became follower");
  }

  private becomePreCandidate(): void {
    if (this.role === "leader") throw new Error("raft: invalid transition leader → preCandidate");
    // Pre-vote does not touch term or vote: a failed pre-election leaves no trace.
    this.role = "preCandidate";
    this.leader = null;
    this.votes.clear();
    this.resetRandomizedElectionTimeout();
    this.config.logger?.debug({ id: this.id, term: this.term }, "became pre-candidate");
  }

  private becomeCandidate(): void {
    if (this.role === "leader") throw new Error("raft: invalid transition leader → candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.config.logger?.debug({ id: this.id, term: this.term }, "became candidate");
  }

  private becomeLeader(): void {
    if (this.role !== "candidate") {
      throw new Error(`raft: invalid transition ${this.role} → leader`);
    }
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    const last = this.log.lastIndex();
    for (const id of this.replicationTargets()) this.addProgress(id, last + 1);
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.maybeUpdate(this.bugs.acknowledgeBeforePersist ? last : this.log.persistedLastIndex());
      self.recentActive = true;
    }
    this.config.logger?.info({ id: this.id, term: this.term }, "became leader");
    // §8: a no-op of our term lets us commit (and learn the commit index of) earlier entries.
    this.appendAsLeader([{ index: last + 1, term: this.term, kind: "noop", data: EMPTY_BYTES }]);
  }

  private resetRandomizedElectionTimeout(): void {
    const ticks = this.config.electionTicks;
    let jitter = Math.floor(this.config.random() * ticks);
    if (!(jitter >= 0)) jitter = 0;
    if (jitter >= ticks) jitter = ticks - 1;
    this.randomizedElectionTimeout = ticks + jitter;
  }

  /**
   * May this node campaign? Voters may. So may a voter that an uncommitted change just removed:
   * a leader that removes itself and loses leadership (check-quorum) before the removal commits
   * may be the only node holding it, and nodes still on the old configuration cannot win without
   * its vote, so without this the group would deadlock. It counts votes by the new configuration,
   * which excludes itself, and steps down again as soon as the removal commits.
   */
  private promotable(): boolean {
    if (this.membership.isVoter(this.id)) return true;
    return (
      this.membership.lastConfigIndex() > this.log.committed &&
      this.membership.wasVoterBeforeLastChange(this.id)
    );
  }

  // ---- Ticks ----------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.checkQuorumActive()) {
        this.config.logger?.info(
          { id: this.id, term: this.term },
          "stepping down: no quorum heard within an election timeout",
        );
        this.becomeFollower(this.term, null);
        return;
      }
      if (this.leadTransferee !== null) this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.readOnly.lastPendingContext());
    }
    this.tickSnapshotTransfers();
    for (const [id, pr] of this.progress) if (id !== this.id) pr.tickStalled();
    for (const id of this.departures.tick()) {
      const log = this.departures.gaveUpBefore(id) ? "debug" : "info";
      this.config.logger?.[log](
        { id: this.id, removed: id, ticks: this.departureTicks() },
        "stopped heartbeating a removed voter that never confirmed its removal",
      );
      this.departures.markGaveUp(id);
      this.progress.delete(id);
    }
  }

  /**
   * How long a leader heartbeats a removed voter that has not confirmed its removal: ten election
   * timeouts, time for a live node to catch up (even through a snapshot) and for many heartbeats
   * to be lost; a node silent that long is taken to be gone.
   */
  private departureTicks(): number {
    return 10 * this.config.electionTicks;
  }

  /**
   * A chunk (or its acknowledgement) may have been lost: once no chunk was sent for an election
   * timeout (each acknowledgement sends the next) and the follower answered a heartbeat since the
   * last send, resend from the acknowledged offset. Counted in ticks, not heartbeat responses: after a reconnect, a burst of
   * answers to queued heartbeats must not resend the same chunk once per answer, and a chunk
   * that is merely slow (large, on a busy link) is not sent twice.
   */
  private tickSnapshotTransfers(): void {
    for (const [id, pr] of this.progress) {
      if (pr.state !== "snapshot" || id === this.id) continue;
      pr.snapshotStalledTicks++;
      if (pr.snapshotStalledTicks < this.config.electionTicks || !pr.snapshotHeardFrom) continue;
      this.sendSnapshotChunk(id, pr);
    }
  }

  /** True when a quorum was active in the last election timeout; resets the activity marks. */
  private checkQuorumActive(): boolean {
    const active = hasQuorum(this.membership.voterList, (id) =>
      id === this.id ? true : (this.progress.get(id)?.recentActive ?? false),
    );
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return active;
  }

  // ---- Elections ------------------------------------------------------------------------------

  private hup(kind: CampaignKind): void {
    if (this.role === "leader" || !this.promotable() || this.quarantined) return;
    // The next term must stay at or below the ceiling every peer enforces.
    if (this.term >= TERM_MAX) return;
    if (kind === "preVote") this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = kind === "preVote" ? this.term + 1 : this.term;
    this.votes.set(this.id, true);
    const result = voteResult(this.membership.voterList, this.votes);
    if (result === "won") {
      // A single voter wins at once.
      if (kind === "preVote") this.hup("vote");
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.membership.voterList) {
      if (id === this.id) continue;
      const request: VoteRequest = {
        type: kind === "preVote" ? "preVote" : "vote",
        from: this.id,
        to: id,
        term: voteTerm,
        lastIndex,
        lastTerm,
        transfer: kind === "transfer",
      };
      this.send(request);
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const isPreVote = m.type === "preVote";
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      (isPreVote && m.term > this.term);
    const upToDate = this.bugs.voteWithoutLogCheck || this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const granted = canVote && upToDate && !this.outranksPreCandidate(m);
    const response: VoteResponse = {
      type: isPreVote ? "preVoteResp" : "voteResp",
      from: this.id,
      to: m.from,
      // A granted vote answers in the candidate's term; a rejection tells it ours.
      term: granted ? m.term : this.term,
      granted,
    };
    this.send(response);
    if (granted && !isPreVote) {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
  }

  /**
   * Two followers of a leader that died heard its last heartbeat at the same moment, so they often
   * time out together; if each granted the other's pre-vote both would campaign in the same term,
   * split it and leave the group leaderless for another election timeout. While pre-campaigning
   * ourselves, we yield only to a log that is more up to date, or as up to date and from a lower
   * id, so exactly one of two such pre-candidates goes on to the real vote.
   */
  private outranksPreCandidate(m: VoteRequest): boolean {
    if (m.type !== "preVote" || this.role !== "preCandidate") return false;
    const lastTerm = this.log.lastTerm();
    const lastIndex = this.log.lastIndex();
    if (m.lastTerm !== lastTerm) return m.lastTerm < lastTerm;
    if (m.lastIndex !== lastIndex) return m.lastIndex < lastIndex;
    return this.id < m.from;
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        // Someone won this term.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "preVoteResp":
      case "voteResp": {
        const expected = this.role === "preCandidate" ? "preVoteResp" : "voteResp";
        if (m.type !== expected) return;
        this.votes.set(m.from, m.granted);
        const result = voteResult(this.membership.voterList, this.votes);
        if (result === "won") {
          if (this.role === "preCandidate") this.hup("vote");
          else this.becomeLeader();
        } else if (result === "lost") {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      default:
        return;
    }
  }

  /** A message from an older term. */
  private stepLowerTerm(m: Message): void {
    if (
      (this.config.checkQuorum || this.config.preVote) &&
      (m.type === "append" || m.type === "heartbeat")
    ) {
      // A deposed leader whose messages we ignore would never learn of the new term (with
      // pre-vote and check-quorum nobody else tells it): answer so it steps down.
      const response: AppendResponse = {
        type: "appendResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject: false,
        index: 0,
        hintIndex: 0,
        hintTerm: 0,
      };
      this.send(response, "now");
    } else if (m.type === "preVote") {
      this.send({
        type: "preVoteResp",
        from: this.id,
        to: m.from,
        term: this.term,
        granted: false,
      });
    }
  }

  // ---- Follower -------------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshotChunk(m);
        return;
      case "timeoutNow":
        // The leader hands over (refusalOf checked it is our leader, in our term): campaign at
        // once, skipping pre-vote and the leader lease.
        if (this.promotable()) this.hup("transfer");
        return;
      default:
        return;
    }
  }

  private handleAppend(m: AppendRequest): void {
    const log = this.log;
    if (m.prevIndex < log.committed) {
      this.sendAppendResponse(m.from, false, log.committed, 0, 0);
      return;
    }
    if (log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = m.prevIndex + m.entries.length;
      const conflict = log.findConflict(m.entries);
      if (conflict > 0) {
        if (conflict <= log.committed) {
          throw new Error(`raft: entry ${conflict} conflicts with committed ${log.committed}`);
        }
        const first = m.entries[0]!.index;
        this.appendToLog(conflict === first ? m.entries : m.entries.slice(conflict - first));
      }
      log.commitTo(Math.min(m.commit, lastNew));
      this.sendAppendResponse(m.from, false, lastNew, 0, 0);
      return;
    }
    // Our log does not contain (prevIndex, prevTerm). Tell the leader where it might match.
    const hint = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex()), m.prevTerm);
    this.sendAppendResponse(m.from, true, m.prevIndex, hint.index, hint.term);
  }

  private sendAppendResponse(
    to: NodeId,
    reject: boolean,
    index: number,
    hintIndex: number,
    hintTerm: number,
  ): void {
    const response: AppendResponse = {
      type: "appendResp",
      from: this.id,
      to,
      term: this.term,
      reject,
      index,
      hintIndex,
      hintTerm,
    };
    this.send(response);
  }

  private handleHeartbeat(m: Heartbeat): void {
    this.announcedTransferee = m.transferee ?? null;
    // The leader sends min(our match, its commit), so this never exceeds what we hold.
    if (m.commit <= this.log.lastIndex()) this.log.commitTo(m.commit);
    const response: HeartbeatResponse = {
      type: "heartbeatResp",
      from: this.id,
      to: m.from,
      term: this.term,
      readContext: m.readContext,
    };
    this.send(response);
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    const meta = m.metadata;
    if (meta.index <= this.log.committed) {
      // We already have everything it holds (committed entries match the leader's).
      this.dropSnapshotTransfer();
      this.sendSnapshotResponse(m.from, meta.index, m.totalBytes, true, false);
      return;
    }
    let assembler = this.snapshotAssembler;
    if (assembler === null || !assembler.matches(m)) {
      this.dropSnapshotTransfer();
      if (m.offset !== 0 || !(m.totalBytes >= 0)) {
        // We lost (or never had) the beginning of this transfer: ask for a restart.
        this.sendSnapshotResponse(m.from, meta.index, 0, false, true);
        return;
      }
      assembler = new SnapshotAssembler(
        m,
        this.config.snapshotStaging(meta, m.totalBytes),
        this.config.snapshotCheck?.(meta, m.totalBytes) ?? null,
      );
      this.snapshotAssembler = assembler;
    }
    if (m.offset === assembler.nextOffset && !assembler.accept(m)) {
      this.dropSnapshotTransfer();
      this.sendSnapshotResponse(m.from, meta.index, 0, false, true);
      return;
    }
    if (!assembler.complete()) {
      // A staging that stores slower than chunks arrive would queue the snapshot in memory: the
      // leader's next chunk waits for this answer, so it waits for the disk (a resent chunk too).
      if (assembler.backlogged()) {
        assembler.answerHeldFor = m.from;
        return;
      }
      assembler.answerHeldFor = null;
      this.sendSnapshotResponse(m.from, meta.index, assembler.nextOffset, false, false);
      return;
    }
    this.snapshotAssembler = null;
    const snapshot = assembler.snapshot();
    const problem =
      assembler.check !== null ? assembler.check.problem() : this.checkWholeSnapshot(snapshot);
    if (problem !== null) {
      // Corrupted on the way (or by the sender): install nothing and ask for the whole of it again.
      assembler.discard();
      this.config.logger?.warn(
        { id: this.id, index: meta.index, problem },
        "refused a received snapshot",
      );
      this.sendSnapshotResponse(m.from, meta.index, 0, false, true);
      return;
    }
    if (!this.restore(snapshot)) assembler.discard();
    this.sendSnapshotResponse(m.from, meta.index, assembler.nextOffset, true, false);
  }

  /** Ends the transfer under way, if any: what it staged is garbage. */
  private dropSnapshotTransfer(): void {
    this.snapshotAssembler?.discard();
    this.snapshotAssembler = null;
  }

  /** config.checkSnapshot over the whole of a received snapshot (hosts without snapshotCheck). */
  private checkWholeSnapshot(snapshot: Snapshot<Bytes>): string | null {
    const check = this.config.checkSnapshot;
    if (check === null) return null;
    const { metadata, data } = snapshot;
    return check({
      metadata,
      data: data instanceof Uint8Array ? data : data.subarray(0, data.byteLength),
    });
  }

  private sendSnapshotResponse(
    to: NodeId,
    snapshotIndex: number,
    nextOffset: number,
    done: boolean,
    reject: boolean,
  ): void {
    const response: SnapshotResponse = {
      type: "snapshotResp",
      from: this.id,
      to,
      term: this.term,
      snapshotIndex,
      nextOffset,
      done,
      reject,
    };
    this.send(response);
  }

  /**
   * Installs a complete snapshot from the leader, unless our log already covers it. Returns
   * whether the snapshot goes to the host (in the next Ready), and so whether its bytes are needed.
   */
  private restore(snapshot: Snapshot<Bytes>): boolean {
    const meta = snapshot.metadata;
    if (meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(meta.index, meta.term)) {
      // Our log has the snapshot's last entry, so it matches up to there: just commit.
      this.log.commitTo(meta.index);
      return false;
    }
    this.log.restore(snapshot);
    this.membership.reset(meta.confState);
    this.config.logger?.info(
      { id: this.id, index: meta.index, term: meta.term },
      "restored snapshot",
    );
    return true;
  }

  // ---- Leader ---------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "appendResp":
        this.handleAppendResponse(m);
        return;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m);
        return;
      case "snapshotResp":
        this.handleSnapshotResponse(m);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    if (m.index > (this.sentIndexMax.get(m.from) ?? 0)) {
      // It answers nothing we sent: a fake ack must not advance commit or count as caught up.
      this.config.onRefused?.(m, "ackNotSent");
      return;
    }
    pr.recentActive = true;
    // An acknowledgement past our log cannot answer anything we sent in this term; ignore it
    // rather than let it push `next` beyond our log.
    if (m.index > this.log.lastIndex()) return;
    if (m.reject) {
      let probeFrom = m.hintIndex;
      if (m.hintTerm > 0) probeFrom = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, probeFrom)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    if (!pr.maybeUpdate(m.index)) {
      if (pr.state === "replicate") pr.inflights.freeLE(m.index);
      // A probe answered at the match we already knew still proves where the logs agree:
      // start streaming instead of waiting for the next heartbeat to unpause the probe.
      if (pr.state !== "probe" || pr.match !== m.index) return;
    }
    switch (pr.state) {
      case "probe":
        pr.becomeReplicate();
        break;
      case "snapshot":
        if (pr.match + 1 >= this.log.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case "replicate":
        pr.inflights.freeLE(m.index);
        break;
    }
    this.maybeCommit();
    if (this.role !== "leader") return;
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
    this.sendAppend(m.from, false);
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.readContext > 0 && this.departures.get(m.from)?.context === m.readContext) {
      // It holds the removal entry and heard a commit index past it: it knows, and is quiet.
      this.finishDeparture(m.from);
      return;
    }
    if (pr.state === "snapshot") {
      // Reachable: a chunk that stays unacknowledged may be resent (see tickSnapshotTransfers).
      pr.snapshotHeardFrom = true;
    } else if (pr.match < this.log.lastIndex()) {
      // Never resend entries here: under load a busy follower answers heartbeats long before it
      // acknowledges a large append, and resending on every answer multiplied catch-up traffic
      // many times over. What is in flight may have been lost though (a dropped connection, a
      // full send queue): once it is overdue, an empty append finds out at no cost.
      if (pr.isPaused() && pr.stalledTicks >= this.appendRetryTicks()) {
        this.sendLossCheck(m.from, pr);
      } else {
        this.sendAppend(m.from, true);
      }
    }
    if (m.readContext > 0 && this.membership.isVoter(m.from)) {
      const round = this.readOnly.ack(m.readContext, m.from);
      if (round !== null && hasQuorum(this.membership.voterList, (id) => round.acks.has(id))) {
        for (const released of this.readOnly.releaseThrough(round.context)) {
          for (const requestId of released.requestIds) {
            this.readStates.push({ requestId, index: released.index });
          }
        }
      }
    }
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (pr.state !== "snapshot" || m.snapshotIndex !== pr.pendingSnapshot) return;
    if (m.reject) {
      pr.snapshotOffset = 0;
      this.sendSnapshotChunk(m.from, pr);
      return;
    }
    if (m.done) {
      pr.maybeUpdate(m.snapshotIndex);
      pr.becomeProbe();
      this.sendAppend(m.from, true);
      return;
    }
    if (m.nextOffset > pr.snapshotOffset) {
      pr.snapshotOffset = m.nextOffset;
      this.sendSnapshotChunk(m.from, pr);
    }
  }

  /** Appends entries of our term to our log; they are sent at the next ready(). */
  private appendAsLeader(entries: Entry[]): void {
    this.appendToLog(entries);
    this.uncommittedBytes += entriesBytes(entries);
    this.broadcastPending = true;
    const self = this.progress.get(this.id);
    if (this.bugs.acknowledgeBeforePersist && self !== undefined) {
      self.maybeUpdate(this.log.lastIndex());
    }
    this.maybeCommit();
  }

  /** Appends to the log and applies config entries at once (they take effect when appended). */
  private appendToLog(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    if (first <= this.log.lastIndex() && this.membership.truncateFrom(first)) {
      this.onMembershipChanged();
    }
    this.log.append(entries);
    for (const entry of entries) {
      if (entry.kind === "config" && entry.change !== undefined) {
        this.membership.append(entry.index, entry.change);
        this.onMembershipChanged();
      }
    }
  }

  /**
   * Whom a leader replicates to: the members, and a voter the newest, uncommitted change removed.
   * Without our heartbeats that voter's election timer runs out every timeout and (promotable())
   * it campaigns in ever higher terms, deposing every leader of the new configuration (Raft
   * thesis §4.2.3); without pre-vote or check-quorum nothing stops it, and the removal may never
   * commit. It hears from us until the removal commits (and it may learn so), and is never counted.
   */
  private replicationTargets(): NodeId[] {
    const targets = this.membership.members();
    for (const id of this.membership.previousVoters()) {
      if (!targets.includes(id) && this.mayHearFrom(id)) targets.push(id);
    }
    return targets;
  }

  private onMembershipChanged(): void {
    if (this.role !== "leader") return;
    const next = this.log.lastIndex() + 1;
    for (const id of this.replicationTargets()) {
      if (this.departures.has(id)) {
        // A departing voter added back is a member again, and may be a new incarnation (a wiped
        // data folder rejoining): what we knew of its log means nothing now.
        this.departures.finish(id);
        this.progress.delete(id);
      }
      const pr = this.progress.get(id);
      if (pr === undefined) this.addProgress(id, next);
      else pr.learner = this.membership.isLearner(id);
    }
    this.dropFormerMembers();
    this.broadcastPending = true;
  }

  /**
   * Forgets the progress of nodes no longer replicated to (removed, and the removal committed),
   * except departing voters, which keep theirs until they confirm (see Departures).
   */
  private dropFormerMembers(): void {
    for (const id of [...this.progress.keys()]) {
      if (!this.mayHearFrom(id) && !this.departures.has(id)) {
        this.progress.delete(id);
        if (this.leadTransferee === id) this.leadTransferee = null;
      }
    }
  }

  /**
   * The change at `configIndex` committed: each voter it removed is told so (by our appends and
   * heartbeats) until it echoes a heartbeat that carried a commit index ≥ configIndex. Then it
   * knows, is no longer promotable and goes quiet; we forget it (finishDeparture).
   */
  private startDepartures(configIndex: number): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id || this.membership.isMember(id)) continue;
      if (!this.membership.wasVoterBeforeLastChange(id)) continue;
      const context = this.readOnly.newContext();
      this.departures.start(id, { configIndex, context, ticksLeft: this.departureTicks() });
      this.sendDepartureHeartbeat(id, pr);
    }
  }

  /** A heartbeat carrying the departure's context, once we know it holds the removal entry. */
  private sendDepartureHeartbeat(id: NodeId, pr: Progress): boolean {
    const departure = this.departures.get(id);
    if (departure === undefined || pr.match < departure.configIndex) return false;
    this.sendHeartbeat(id, pr, departure.context);
    return true;
  }

  private finishDeparture(id: NodeId): void {
    this.departures.finish(id);
    this.progress.delete(id);
    if (this.leadTransferee === id) this.leadTransferee = null;
  }

  private addProgress(id: NodeId, next: number): void {
    const pr = new Progress(
      next,
      this.membership.isLearner(id),
      this.config.inflightMessagesMax,
      this.config.inflightBytesMax,
    );
    this.progress.set(id, pr);
  }

  /** Advances the commit index to what a quorum of voters holds, if it is of our term (§5.4.2). */
  private maybeCommit(): void {
    if (this.role !== "leader") return;
    const index = committedIndex(this.membership.voterList, this.matchOf, this.matchScratch);
    if (index <= this.log.committed) return;
    if (!this.bugs.commitPreviousTermByCounting && this.log.term(index) !== this.term) {
      return;
    }
    const previous = this.log.committed;
    this.log.commitTo(index);
    this.onCommitAdvanced(previous);
  }

  private onCommitAdvanced(previous: number): void {
    const committed = this.log.committed;
    if (this.uncommittedBytes > 0) {
      const newlyCommitted = this.log.slice(previous + 1, committed + 1, Number.MAX_SAFE_INTEGER);
      this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entriesBytes(newlyCommitted));
    }
    this.broadcastPending = true;
    if (!this.committedInTerm && this.log.term(committed) === this.term) {
      this.committedInTerm = true;
      const held = this.readOnly.held;
      this.readOnly.held = [];
      for (const requestId of held) this.serveRead(requestId);
    }
    const configIndex = this.membership.lastConfigIndex();
    const leadsOn = this.role === "leader" && this.membership.isVoter(this.id);
    if (leadsOn && previous < configIndex && committed >= configIndex) {
      // A voter the change removed is told it committed (and stops campaigning), then no more.
      this.flushBroadcast();
      this.startDepartures(configIndex);
      this.dropFormerMembers();
    }
    // A leader that removed itself leads until the removal commits, then steps down.
    if (!this.membership.isVoter(this.id) && committed >= configIndex) {
      this.flushBroadcast();
      this.becomeFollower(this.term, null);
    }
  }

  private serveRead(requestId: number): void {
    const voters = this.membership.voterList;
    if (voters.length === 1 && voters[0] === this.id) {
      this.readStates.push({ requestId, index: this.log.committed });
      return;
    }
    const { round, isNew } = this.readOnly.add(requestId, this.log.committed, this.id);
    if (isNew) this.broadcastHeartbeat(round.context);
  }

  private flushBroadcast(): void {
    this.broadcastPending = false;
    for (const id of this.progress.keys()) {
      if (id === this.id) continue;
      const pr = this.progress.get(id)!;
      this.sendAppend(id, pr.sentCommit < this.log.committed);
    }
  }

  private broadcastHeartbeat(readContext: number): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      if (this.departures.has(id) && this.sendDepartureHeartbeat(id, pr)) continue;
      this.sendHeartbeat(id, pr, readContext);
    }
  }

  private sendHeartbeat(to: NodeId, pr: Progress, readContext: number): void {
    const heartbeat: Heartbeat = {
      type: "heartbeat",
      from: this.id,
      to,
      term: this.term,
      commit: Math.min(pr.match, this.log.committed),
      readContext,
    };
    if (this.leadTransferee !== null) heartbeat.transferee = this.leadTransferee;
    this.send(heartbeat);
  }

  /**
   * Sends what `to` is missing, as far as its progress state and flow control allow: one probe,
   * or a pipeline of batches in replicate state, or the snapshot when the entries are compacted.
   * With `sendIfEmpty`, an empty append still goes out (to carry the commit index or to probe).
   */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): void {
    const pr = this.progress.get(to);
    if (pr === undefined || to === this.id) return;
    const log = this.log;
    const last = log.lastIndex();
    let allowEmpty = sendIfEmpty;
    for (let batches = 0; batches < this.config.inflightMessagesMax; batches++) {
      if (pr.isPaused()) return;
      if (pr.next > last + 1) {
        // Cannot happen with a correct log (acks past our log are ignored); recover by probing.
        pr.becomeProbe();
        pr.next = Math.min(pr.next, last + 1);
      }
      const prevIndex = pr.next - 1;
      const prevTerm = log.term(prevIndex);
      if (prevTerm < 0 || pr.next < log.firstIndex() || this.snapshotIsCheaper(pr)) {
        this.sendSnapshot(to, pr);
        return;
      }
      const entries =
        pr.next <= last ? log.slice(pr.next, last + 1, this.config.messageBytesMax) : [];
      if (entries.length === 0 && !allowEmpty) return;
      this.sendAppendMessage(to, pr, prevIndex, prevTerm, entries);
      const lastSent = entries.at(-1)?.index ?? prevIndex;
      this.noteSent(to, lastSent);
      pr.sentEntries(entries.length, lastSent, entriesBytes(entries));
      if (pr.state !== "replicate" || entries.length === 0 || pr.next > last) return;
      allowEmpty = false;
    }
  }

  /**
   * Ticks an unacknowledged probe or window waits before sendLossCheck: half an election timeout,
   * so a lost probe is noticed well before a follower that hears only heartbeats would matter.
   */
  private appendRetryTicks(): number {
    return Math.max(1, Math.floor(this.config.electionTicks / 2));
  }

  /**
   * An empty append right after what was sent: the follower answers it only after everything sent
   * before it on the same connection, so it acknowledges what arrived (freeing the window or
   * answering the probe) or rejects the gap a lost append left (falling back to probing from
   * match+1). Entries are resent only on that rejection, never on a timeout.
   */
  private sendLossCheck(to: NodeId, pr: Progress): void {
    pr.stalledTicks = 0;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm < 0 || pr.next < this.log.firstIndex()) {
      // Compacted meanwhile: only a snapshot can help now.
      pr.becomeProbe();
      this.sendAppend(to, true);
      return;
    }
    this.sendAppendMessage(to, pr, prevIndex, prevTerm, EMPTY_ENTRIES as Entry[]);
  }

  /** Sends one append after (prevIndex, prevTerm) carrying the commit index, and notes it sent. */
  private sendAppendMessage(
    to: NodeId,
    pr: Progress,
    prevIndex: number,
    prevTerm: number,
    entries: Entry[],
  ): void {
    const request: AppendRequest = {
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries: entries.length > 0 ? entries : (EMPTY_ENTRIES as Entry[]),
      commit: this.log.committed,
    };
    this.send(request);
    pr.sentCommit = this.log.committed;
  }

  /**
   * A probing follower that lacks more entry bytes up to the latest snapshot than the snapshot
   * itself holds gets the snapshot instead (a lock table stays small while its log of acquires
   * and releases grows). Only while probing: the rejection's hint puts `next` near its real end.
   */
  private snapshotIsCheaper(pr: Progress): boolean {
    if (pr.state !== "probe") return false;
    const snapshot = this.storage.snapshot();
    const index = snapshot.metadata.index;
    if (index === 0 || index < pr.next) return false;
    // At most the snapshot's size is read: if that does not reach its index, the entries weigh more.
    const lacked = this.log.slice(pr.next, index + 1, snapshot.data.byteLength);
    // Never empty: slice keeps at least one entry, and pr.next ≤ index.
    return lacked.at(-1)!.index < index;
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snapshot = this.storage.snapshot();
    if (snapshot.metadata.index === 0) {
      throw new Error("raft: follower needs a snapshot but storage has none");
    }
    pr.becomeSnapshot(snapshot.metadata.index);
    this.sendSnapshotChunk(to, pr);
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snapshot = this.storage.snapshot();
    if (snapshot.metadata.index !== pr.pendingSnapshot) {
      // The host took a newer snapshot meanwhile: transfer that one from the start.
      pr.becomeSnapshot(snapshot.metadata.index);
    }
    pr.snapshotStalledTicks = 0;
    pr.snapshotHeardFrom = false;
    const total = snapshot.data.byteLength;
    const offset = Math.min(pr.snapshotOffset, total);
    const end = Math.min(offset + this.config.snapshotChunkBytes, total);
    this.noteSent(to, snapshot.metadata.index);
    const chunk: SnapshotChunk = {
      type: "snapshot",
      from: this.id,
      to,
      term: this.term,
      metadata: snapshot.metadata,
      offset,
      data: snapshot.data.subarray(offset, end),
      totalBytes: total,
      done: end === total,
    };
    this.send(chunk);
  }

  private noteSent(to: NodeId, index: number): void {
    if (index > (this.sentIndexMax.get(to) ?? 0)) this.sentIndexMax.set(to, index);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
  }

  // ---- Plumbing -------------------------------------------------------------------------------

  /**
   * Queues a message. Those that promise something about our durable state (votes, append and
   * snapshot acknowledgements, vote requests that carry our own vote) wait for the persist.
   */
  private send(m: Message, when: "auto" | "now" = "auto"): void {
    if (when === "now") {
      this.messages.push(m);
      return;
    }
    switch (m.type) {
      case "appendResp":
        if (this.bugs.acknowledgeBeforePersist) this.messages.push(m);
        else this.messagesAfterPersist.push(m);
        return;
      case "vote":
      case "voteResp":
      case "preVoteResp":
        this.messagesAfterPersist.push(m);
        return;
      case "snapshotResp":
        if (m.done) this.messagesAfterPersist.push(m);
        else this.messages.push(m);
        return;
      default:
        this.messages.push(m);
    }
  }

  private softStateChanged(): boolean {
    const soft = this.lastSoftState;
    return soft.role !== this.role || soft.leader !== this.leader || soft.term !== this.term;
  }

  private hardStateChanged(): boolean {
    const hard = this.lastHardState;
    return hard.term !== this.term || hard.vote !== this.vote || hard.commit !== this.log.committed;
  }

  private replayConfigEntries(from: number, to: number): void {
    const pageBytes = this.config.committedBytesPerReadyMax;
    let next = from;
    while (next <= to) {
      const page = this.storage.entries(next, to + 1, pageBytes);
      for (const entry of page) {
        if (entry.kind === "config" && entry.change !== undefined) {
          this.membership.append(entry.index, entry.change);
        }
      }
      next = page.at(-1)!.index + 1;
    }
  }
}
