import type { Entry, NodeId, Role } from "@dlock/raft";
import { ProposalDroppedError, notLeaderError } from "@dlock/raft";
import type { LockServiceHost, RoleChange } from "@dlock/server/internal";
import { HostError } from "@dlock/server/internal";
import type { LockResult } from "@dlock/server/lock";
import type { SimNode } from "../sim-node.js";

interface PendingProposal {
  term: number;
  resolve: (result: LockResult | undefined) => void;
  reject: (error: Error) => void;
}

interface PendingRead {
  /** The confirmed read index, once the core reported it (-1 before). */
  index: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * What RaftHost gives the LockService, on a simulated node, with RaftHost's contract: propose
 * resolves with the result once the entry with that (index, term) is applied here, and rejects
 * with the core's NOT_LEADER RaftError / ProposalDroppedError, or PROPOSAL_LOST when another entry was
 * committed in the slot; readIndex resolves once the confirmed index is applied, and rejects with
 * READ_DROPPED, or NOT_LEADER when leadership is lost; role changes carry the node's
 * monotonic time. One instance per process incarnation (a crash loses everything waiting).
 */
export class SimRaftHost implements LockServiceHost {
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<number, PendingRead>();
  private readonly roleListeners = new Set<(change: RoleChange) => void>();
  private readonly applyListeners = new Set<
    (entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>) => void
  >();
  private role: Role = "follower";
  private leader: NodeId | null = null;
  private term = 0;

  constructor(
    private readonly node: SimNode,
    private readonly options: {
      /** The node's monotonic clock. */
      nowMs: () => number;
      /** A read id no other read in the cluster uses (the safety monitor tracks them all). */
      readId: () => number;
    },
  ) {}

  propose(data: Uint8Array, onProposed?: (index: number) => void): Promise<LockResult | undefined> {
    const slot = this.node.propose(data);
    if ("error" in slot) return Promise.reject(this.refusal(slot.error));
    onProposed?.(slot.index);
    // Truncated from this log but perhaps still on another that may lead and commit it: unknown.
    const stale = this.proposals.get(slot.index);
    if (stale !== undefined) {
      stale.reject(
        new HostError(
          "OUTCOME_UNKNOWN",
          `entry ${slot.index} of term ${stale.term} left this log for term ${slot.term}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.proposals.set(slot.index, { term: slot.term, resolve, reject });
    });
  }

  readIndex(): Promise<void> {
    const id = this.options.readId();
    const refused = this.node.readIndex(id);
    if (refused !== undefined) return Promise.reject(this.refusal(refused.error));
    return new Promise((resolve, reject) => {
      this.reads.set(id, { index: -1, resolve, reject });
    });
  }

  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  onApply(
    listener: (entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>) => void,
  ): () => void {
    this.applyListeners.add(listener);
    return () => this.applyListeners.delete(listener);
  }

  // ---- fed by the simulated node -------------------------------------------------------------

  softStateChanged(role: Role, leader: NodeId | null, term: number): void {
    if (role === this.role && leader === this.leader && term === this.term) return;
    const wasLeader = this.role === "leader";
    this.role = role;
    this.leader = leader;
    this.term = term;
    if (wasLeader && role !== "leader") {
      // Reads wait on this leader's quorum; once it is not the leader they cannot complete.
      const reads = [...this.reads.values()];
      this.reads.clear();
      for (const read of reads) read.reject(notLeaderError(leader));
    }
    const change: RoleChange = { role, leader, term, atMs: this.options.nowMs() };
    for (const listener of this.roleListeners) listener(change);
  }

  applied(entry: Entry, result: LockResult | undefined): void {
    const proposal = this.proposals.get(entry.index);
    if (proposal !== undefined) {
      this.proposals.delete(entry.index);
      if (proposal.term === entry.term) proposal.resolve(result);
      else {
        proposal.reject(
          new HostError(
            "PROPOSAL_LOST",
            `entry ${entry.index} of term ${proposal.term} was replaced by term ${entry.term}`,
          ),
        );
      }
    }
    for (const listener of this.applyListeners) listener([entry], [result]);
    this.serveReads();
  }

  /** A snapshot replaced the state through `index`: proposals at or below it are undecided. */
  restored(index: number): void {
    for (const [slot, proposal] of this.proposals) {
      if (slot > index) continue;
      this.proposals.delete(slot);
      proposal.reject(
        new HostError("OUTCOME_UNKNOWN", `entry ${slot} was replaced by a snapshot at ${index}`),
      );
    }
    this.serveReads();
  }

  readState(id: number, index: number): void {
    const read = this.reads.get(id);
    if (read === undefined) return;
    read.index = index;
    this.serveReads();
  }

  readDropped(id: number): void {
    const read = this.reads.get(id);
    if (read === undefined) return;
    this.reads.delete(id);
    read.reject(new HostError("READ_DROPPED", "read could not be confirmed by this leader"));
  }

  private serveReads(): void {
    if (this.reads.size === 0) return;
    const applied = this.node.applied;
    for (const [id, read] of this.reads) {
      if (read.index < 0 || read.index > applied) continue;
      this.reads.delete(id);
      read.resolve();
    }
  }

  private refusal(code: string): Error {
    if (code === "NOT_LEADER") return notLeaderError(this.node.leaderHint);
    if (code === "PROPOSAL_DROPPED") return new ProposalDroppedError("refused by the core");
    return new HostError("STOPPED", `the node cannot propose (${code})`);
  }
}
