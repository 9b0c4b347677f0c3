// Where this node's peers are: the members as replicated (applied members record, so a restarted
// node needs no complete command-line list), plus members whose addition is appended but not yet
// applied (Raft talks to them at once), plus, on a node that has no members yet (it joins), the
// command-line list it was given. For a member that the command line names too, the command
// line's address wins: it is how an operator restarts a cluster whose machines or ports moved
// (the replicated record has no other way to learn a new address). Ids that are no longer members
// are ignored, except removed voters the leader still tells of their removal (departing, below).
// Every change is pushed to the peer transport. Former members (removed voters, as the replicated
// members record keeps them across restarts and snapshots, or ids named on the command line that
// are no longer members) are not dialed, but may connect: a removed voter that missed its removal
// asks them for votes, and the leader among them must answer it.
import type { ConfChange, NodeId } from "@dlock/raft";
import { decodeMemberContext } from "../host/cluster-members.js";
import { sameIds } from "../host/departing-peers.js";
import type { ClusterMembers } from "../storage/members-record.js";

export interface PeerDirectoryTransport {
  setPeers(peers: Record<NodeId, string>): void;
  setFormerPeers(ids: readonly NodeId[]): void;
}

export class PeerDirectory {
  private readonly self: NodeId;
  private readonly seeds: Readonly<Record<NodeId, string>>;
  private readonly transport: PeerDirectoryTransport;
  private applied: ClusterMembers;
  /** Members appended to the log (addLearner) and not applied yet. */
  private readonly appended = new Map<NodeId, string>();
  private current: Record<NodeId, string> = {};
  /**
   * Removed nodes the leader's Raft core still heartbeats until they confirm their removal, with
   * the address they had as members: without a link they would never hear it, and campaign.
   */
  private departing = new Map<NodeId, string>();
  /** Last list given to transport.setFormerPeers. */
  private formerPeers: NodeId[] = [];

  constructor(options: {
    self: NodeId;
    /** The command-line list: bootstrap members, or whom to reach when joining. */
    seeds: Record<NodeId, string>;
    applied: ClusterMembers;
    transport: PeerDirectoryTransport;
  }) {
    this.self = options.self;
    this.seeds = { ...options.seeds };
    this.transport = options.transport;
    this.applied = options.applied;
    this.current = this.compute();
    this.formerPeers = this.former();
  }

  /** Former members that may connect to us though we do not dial them (see the file comment). */
  acceptedFormerPeers(): NodeId[] {
    return [...this.formerPeers];
  }

  /** Peer address of `id` as this node knows it. */
  addressOf(id: NodeId): string | null {
    return this.current[id] ?? this.seeds[id] ?? null;
  }

  /** Everyone this node dials (itself excluded). */
  peers(): Record<NodeId, string> {
    const out = { ...this.current };
    delete out[this.self];
    return out;
  }

  /** Applied members changed (config entry applied, snapshot installed). */
  membersApplied(members: ClusterMembers): void {
    this.applied = members;
    for (const id of [...this.appended.keys()]) {
      if (id in members.peerAddresses) this.appended.delete(id);
    }
    this.publish();
  }

  /** A change was appended to the log: a new member must be reachable from now on. */
  changeAppended(change: ConfChange): void {
    if (change.type !== "addLearner") return;
    const context = decodeMemberContext(change.context);
    if (context === null) return;
    this.appended.set(change.nodeId, context.peerAddress);
    this.publish();
  }

  /**
   * The leader's departing nodes changed (RaftHost.onDepartingChange). Called before the members
   * that drop a node are applied, so its address is still known; a leader that did not commit the
   * removal finds it among the removed members or the command line. An id whose address is
   * unknown (this process never saw it as a member and was not given it) is skipped.
   */
  departingChanged(ids: readonly NodeId[]): void {
    const next = new Map<NodeId, string>();
    for (const id of ids) {
      const address =
        this.departing.get(id) ??
        this.current[id] ??
        this.removedVoterAddress(id) ??
        this.seeds[id];
      if (address !== undefined) next.set(id, address);
    }
    this.departing = next;
    this.publish();
  }

  /** Members whose command-line address differs from the replicated one (it is used instead). */
  movedMembers(): Array<{ id: NodeId; replicated: string; commandLine: string }> {
    const moved = [];
    for (const [id, replicated] of Object.entries(this.applied.peerAddresses)) {
      const commandLine = this.seeds[id];
      if (commandLine !== undefined && commandLine !== replicated) {
        moved.push({ id, replicated, commandLine });
      }
    }
    return moved;
  }

  private compute(): Record<NodeId, string> {
    const known = this.applied.voters.length + this.applied.learners.length > 0;
    if (!known) return { ...this.seeds, ...Object.fromEntries(this.appended) };
    const members: Record<NodeId, string> = { ...this.applied.peerAddresses };
    for (const id of Object.keys(members)) {
      const commandLine = this.seeds[id];
      if (commandLine !== undefined) members[id] = commandLine;
    }
    return {
      ...Object.fromEntries(this.departing),
      ...members,
      ...Object.fromEntries(this.appended),
    };
  }

  private publish(): void {
    const next = this.compute();
    const same =
      Object.keys(next).length === Object.keys(this.current).length &&
      Object.entries(next).every(([id, address]) => this.current[id] === address);
    this.current = next;
    if (!same) this.transport.setPeers(this.peers());
    const former = this.former();
    if (!sameIds(former, this.formerPeers)) {
      this.formerPeers = former;
      this.transport.setFormerPeers(former);
    }
  }

  /** A removed voter's address: the command line's if it names it, else the one on record. */
  private removedVoterAddress(id: NodeId): string | undefined {
    const removed = this.applied.removedVoters?.find((voter) => voter.id === id);
    if (removed === undefined) return undefined;
    return this.seeds[id] ?? removed.peerAddress ?? undefined;
  }

  /** Removed voters and command-line ids that are not members now (sorted). */
  private former(): NodeId[] {
    if (this.applied.voters.length + this.applied.learners.length === 0) return [];
    const removed = (this.applied.removedVoters ?? []).map((voter) => voter.id);
    const ids = new Set([...removed, ...Object.keys(this.seeds)]);
    return [...ids].filter((id) => id !== this.self && !(id in this.current)).sort();
  }
}
