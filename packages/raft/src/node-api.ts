import type { ConfChange, Message, NodeId, Ready, SnapshotBytes, Status } from "./types.js";

/**
 * The synchronous driver interface of one Raft node (etcd's RawNode). The host owns time, disk
 * and network: it calls tick() on its own timer, step() for every message it receives, and
 * ready()/advance() to learn what to persist, send and apply. Nothing here blocks or does I/O.
 *
 * Construction: `new RawNode(config, storage)` reads the durable state through storage. A fresh
 * cluster is bootstrapped by the host writing the initial ConfState (all voters) into storage
 * before constructing the node; a one-voter group elects itself on its first election timeout.
 * A node joining an existing group starts with an empty ConfState and waits to be added.
 *
 * Restart: the host's state machine must reflect at least storage.snapshot() (load it if the
 * state machine's own durable state is older), and config.applied names the index it reflects
 * (≥ the snapshot index, ≤ the stored last index); entries up to it are not handed out again.
 * The current membership is re-derived from the snapshot's ConfState plus the config entries
 * stored after it (see Storage.initialState).
 *
 * Errors: calls a caller can get wrong in normal operation throw RaftError subclasses with a
 * stable `code`. Broken host contracts (advance out of order, appliedTo past what was handed
 * out, compacted past applied) and violated Raft invariants throw plain Errors: they are bugs.
 */
export interface RaftNode<Bytes extends SnapshotBytes = Uint8Array> {
  /** Advance logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void;
  /** Feed a message from the network. Messages for another node or unknown types are ignored. */
  step(message: Message): void;
  /**
   * Append application data to the leader's log. Returns the index and term it got; the entry is
   * committed if and when an entry with that index *and* term appears in committedEntries.
   * Throws RaftError NOT_LEADER (notLeaderError) on a non-leader, ProposalDroppedError over the uncommitted limit or
   * during a leadership transfer.
   */
  propose(data: Uint8Array): { index: number; term: number };
  /**
   * Propose a one-server membership change. Throws RaftError("CONF_CHANGE_IN_PROGRESS") while an
   * earlier change is not yet committed, RaftError("INVALID_CONF_CHANGE") for changes that make no
   * sense (promoting a non-learner, removing the last voter, adding an existing member).
   */
  proposeConfChange(change: ConfChange): { index: number; term: number };
  /**
   * Start a linearizable read. `requestId` is the host's; it comes back in Ready.readStates once
   * a heartbeat quorum confirmed leadership (or in droppedReads). Throws RaftError NOT_LEADER (notLeaderError) on a
   * non-leader. Held back until the leader has committed an entry of its own term.
   */
  readIndex(requestId: number): void;
  /** Start a leadership transfer to `target` (catch it up, then send TimeoutNow). */
  transferLeadership(target: NodeId): void;
  /** Campaign at once (tests, and a target of TimeoutNow internally). */
  campaign(): void;
  hasReady(): boolean;
  /** Take the next batch of work. See the Ready type for the contract. */
  ready(): Ready<Bytes>;
  /** The host persisted (and sent messagesAfterPersist of) this Ready. In order, once each. */
  advance(ready: Ready<Bytes>): void;
  /** The host applied committed entries up to `index` (monotonic). */
  appliedTo(index: number): void;
  /**
   * The host compacted its stored log up to `index` (≤ applied) behind a durable snapshot; the core
   * re-reads firstIndex()/snapshot() from storage when it next needs them.
   */
  compacted(index: number): void;
  /**
   * The snapshot staging that was backlogged (SnapshotStaging.backlogged) stored what it held: the
   * answer held for the leader's last chunk goes out (in the next Ready). Harmless at any time.
   */
  snapshotStagingDrained(): void;
  /**
   * Voters removed by changes already compacted into the snapshot, as the host keeps them with its
   * members (this core remembers such removals only while it runs). A leader tells one of them
   * that its removal committed when it asks for votes. Call after construction and after a
   * snapshot install; ids that are members again are ignored.
   */
  rememberRemovedVoters(
    voters: ReadonlyArray<{ readonly id: NodeId; readonly index: number }>,
  ): void;
  status(): Status;
}
