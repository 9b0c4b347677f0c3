// Where this node's peers are: the members' peer addresses as replicated (applied members record,
// so a restarted node needs no command-line list), plus members whose addition is appended but not
// yet applied (Raft talks to them at once), plus, on a node that has no members yet (it joins),
// the command-line list it was given. Every change is pushed to the peer transport.
import type { ConfChange, NodeId } from "@dlock/raft";
import { decodeMemberContext } from "../host/cluster-members.js";
import type { ClusterMembers } from "../storage/members-record.js";

export interface PeerDirectoryTransport {
  setPeers(peers: Record<NodeId, string>): void;
}

export class PeerDirectory {
  private readonly self: NodeId;
  private readonly seeds: Readonly<Record<NodeId, string>>;
  private readonly transport: PeerDirectoryTransport;
  private applied: ClusterMembers;
  /** Members appended to the log (addLearner) and not applied yet. */
  private readonly appended = new Map<NodeId, string>();
  private current: Record<NodeId, string> = {};

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

  private compute(): Record<NodeId, string> {
    const known = this.applied.voters.length + this.applied.learners.length > 0;
    const base = known ? this.applied.peerAddresses : this.seeds;
    return { ...base, ...Object.fromEntries(this.appended) };
  }

  private publish(): void {
    const next = this.compute();
    const same =
      Object.keys(next).length === Object.keys(this.current).length &&
      Object.entries(next).every(([id, address]) => this.current[id] === address);
    this.current = next;
    if (!same) this.transport.setPeers(this.peers());
  }
}
