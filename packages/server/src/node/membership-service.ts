// Membership requests (list, add a learner, promote, remove) on the leader. Changes go one at a
// time through the Raft core's single-server changes; this service adds the checks an operator
// needs before a change is proposed (a learner must have caught up before it votes, a change must
// leave a reachable quorum) and turns every refusal into a CONFIG_CHANGE_REFUSED that says why.
import { RaftError } from "@dlock/raft";
import type { ConfChange, NodeId } from "@dlock/raft";
import { ConfigChangeRefusedError, NotLeaderError } from "@dlock/protocol";
import type {
  AddMemberRequest,
  ConfigChangeRefusal,
  LeaderHint,
  MemberInfo,
  MembersRequest,
  MembersResult,
  PromoteMemberRequest,
  RemoveMemberRequest,
} from "@dlock/protocol";
import { encodeMemberContext } from "../host/cluster-members.js";
import type { HostStatus } from "../host/raft-host.js";
import { hostFailureToWire } from "./wire-errors.js";

/** What the service needs of the Raft host. */
export interface MembershipHost {
  status(): HostStatus;
  proposeConfChange(change: ConfChange): Promise<void>;
}

export interface MembershipServiceOptions {
  host: MembershipHost;
  /** Peer address of a member (applied or just appended), or null if unknown. */
  peerAddressOf: (id: NodeId) => string | null;
  /** Client address of a member, or null if unknown. */
  clientAddressOf: (id: NodeId) => string | null;
  /**
   * A learner is promoted only once its log is at most this many entries behind the leader's
   * commit index (and it is reachable).
   */
  promoteLagEntriesMax?: number;
  /** A member is reachable when a message from it arrived within this long (an election timeout). */
  reachableWithinMs: number;
  /**
   * True while our own connection to the member's registered peer address is up (we dialed it and
   * it completed the hello as that node). A learner is promoted only then: its acks alone could
   * be forged by any connection that names it, and only our link proves the entries reached it.
   * Absent: not checked.
   */
  dialed?: (id: NodeId) => boolean;
}

export const DEFAULT_PROMOTE_LAG_ENTRIES_MAX = 1_000;

export type MembershipRequest =
  MembersRequest | AddMemberRequest | PromoteMemberRequest | RemoveMemberRequest;

export class MembershipService {
  private readonly options: MembershipServiceOptions;
  private readonly promoteLagEntriesMax: number;

  constructor(options: MembershipServiceOptions) {
    this.options = options;
    this.promoteLagEntriesMax = options.promoteLagEntriesMax ?? DEFAULT_PROMOTE_LAG_ENTRIES_MAX;
  }

  async handle(request: MembershipRequest): Promise<MembersResult> {
    const status = this.leaderStatus();
    switch (request.type) {
      case "members":
        return this.members(status);
      case "addMember":
        return this.add(status, request.nodeId, request.peerAddress);
      case "promoteMember":
        return this.promote(status, request.nodeId);
      case "removeMember":
        return this.remove(status, request.nodeId);
    }
  }

  private async add(status: HostStatus, id: NodeId, peerAddress: string): Promise<MembersResult> {
    const { voters, learners } = status.confState;
    if (learners.includes(id) && this.options.peerAddressOf(id) === peerAddress) {
      return this.members(status); // A retried add that already happened.
    }
    if (voters.includes(id) || learners.includes(id)) {
      throw refused("invalid", `${id} is already a member; remove it first to re-add it`);
    }
    await this.change({
      type: "addLearner",
      nodeId: id,
      context: encodeMemberContext({ peerAddress }),
    });
    return this.members(this.leaderStatus());
  }

  private async promote(status: HostStatus, id: NodeId): Promise<MembersResult> {
    const { voters, learners } = status.confState;
    if (voters.includes(id)) return this.members(status); // A retried promote that happened.
    if (!learners.includes(id)) {
      throw refused("invalid", `${id} is not a learner; add it first (dlock member add)`);
    }
    const progress = status.progress?.[id];
    const match = progress?.match ?? 0;
    const behind = status.commit - match;
    const reachable = this.reachable(status, id);
    if (this.options.dialed !== undefined && !this.options.dialed(id)) {
      throw refused(
        "notCaughtUp",
        `${id} is not connected at its peer address ${this.options.peerAddressOf(id) ?? "(unknown)"}, so nothing sent to it is known to have arrived; start it there (or fix the address) and promote it once it has caught up`,
      );
    }
    if (progress === undefined || !reachable || behind > this.promoteLagEntriesMax) {
      const state = reachable ? "" : " and has not answered lately";
      throw refused(
        "notCaughtUp",
        `${id} has the log up to ${match} of ${status.commit} (${behind} behind, at most ${this.promoteLagEntriesMax} allowed)${state}; promote it once it has caught up`,
      );
    }
    this.checkQuorum(status, [...voters, id]);
    await this.change({ type: "promote", nodeId: id });
    return this.members(this.leaderStatus());
  }

  private async remove(status: HostStatus, id: NodeId): Promise<MembersResult> {
    const { voters, learners } = status.confState;
    if (!voters.includes(id) && !learners.includes(id)) {
      throw refused("invalid", `${id} is not a member`);
    }
    if (voters.includes(id)) {
      if (voters.length === 1) throw refused("invalid", `${id} is the last voter`);
      this.checkQuorum(
        status,
        voters.filter((voter) => voter !== id),
      );
    }
    await this.change({ type: "remove", nodeId: id });
    // Removing ourselves: we stepped down once it committed; answer with what we applied.
    return this.members(this.host().status());
  }

  /** Refuses a change after which the voters that answered lately could not form a quorum. */
  private checkQuorum(status: HostStatus, voters: readonly NodeId[]): void {
    const reachable = voters.filter((id) => this.reachable(status, id));
    const quorum = Math.floor(voters.length / 2) + 1;
    if (reachable.length < quorum) {
      throw refused(
        "wouldLoseQuorum",
        `afterwards ${reachable.length} of ${voters.length} voters would be reachable (${reachable.join(", ") || "none"}), fewer than a quorum of ${quorum}; bring members back first`,
      );
    }
  }

  private async change(change: ConfChange): Promise<void> {
    try {
      await this.host().proposeConfChange(change);
    } catch (error) {
      if (error instanceof RaftError) {
        switch (error.code) {
          case "CONF_CHANGE_IN_PROGRESS":
            throw refused(
              "inProgress",
              `another membership change is not committed yet (${error.message}); retry after it`,
            );
          case "INVALID_CONF_CHANGE":
            throw refused("invalid", error.message);
          case "TRANSFER_IN_PROGRESS":
            throw refused("transferInProgress", error.message);
          default:
            break;
        }
      }
      throw hostFailureToWire(error, (leader) => this.hintOf(leader));
    }
  }

  private members(status: HostStatus): MembersResult {
    const kinds: Array<[NodeId, MemberInfo["kind"]]> = [
      ...status.confState.voters.map((id): [NodeId, "voter"] => [id, "voter"]),
      ...status.confState.learners.map((id): [NodeId, "learner"] => [id, "learner"]),
    ];
    const members = kinds.map(([id, kind]): MemberInfo => {
      const self = id === status.id;
      const progress = status.progress?.[id];
      return {
        id,
        kind,
        peerAddress: this.options.peerAddressOf(id),
        clientAddress: this.options.clientAddressOf(id),
        matchIndex: self ? status.lastIndex : (progress?.match ?? 0),
        healthy: self ? status.healthy : this.reachable(status, id),
      };
    });
    return {
      leader: status.leader,
      term: status.term,
      commitIndex: status.commit,
      members,
    };
  }

  private reachable(status: HostStatus, id: NodeId): boolean {
    if (id === status.id) return true;
    const ago = status.heardFromMsAgo[id];
    return ago !== undefined && ago <= this.options.reachableWithinMs;
  }

  private leaderStatus(): HostStatus {
    const status = this.host().status();
    if (status.role !== "leader") throw new NotLeaderError(this.hintOf(status.leader));
    return status;
  }

  private host(): MembershipHost {
    return this.options.host;
  }

  private hintOf(leader: NodeId | null): LeaderHint | null {
    if (leader === null) return null;
    return { id: leader, clientAddress: this.options.clientAddressOf(leader) };
  }
}

function refused(refusal: ConfigChangeRefusal, message: string): ConfigChangeRefusedError {
  return new ConfigChangeRefusedError(refusal, message);
}
