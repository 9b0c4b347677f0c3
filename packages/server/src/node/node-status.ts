// This node's view of the cluster, in the two shapes it is asked for: the admin port's
// NodeStatusSnapshot and the protocol's `status` result (also what `dlock status --json` prints).
import type { Logger, MemberStatus, StatusResult, TableLimitsStatus } from "@dlock/protocol";
import type { NodeId } from "@dlock/raft";
import type { NodeMemberStatus, NodeStatusSnapshot } from "../admin/status-provider.js";
import type { HostStatus } from "../host/raft-host.js";
import type { LockStateMachine } from "../lock/index.js";
import { TABLE_LIMIT_NAMES, sameTableLimits, tableLimitsOf } from "../lock/index.js";

export interface MemberAddresses {
  peerAddress(id: NodeId): string | undefined;
  clientAddress(id: NodeId): string | null;
  /** An open connection to or from the peer. */
  connected(id: NodeId): boolean;
}

export function nodeStatusSnapshot(
  status: HostStatus,
  addresses: MemberAddresses,
): NodeStatusSnapshot {
  const members: NodeMemberStatus[] = [];
  const kinds: Array<[NodeId, "voter" | "learner"]> = [
    ...status.confState.voters.map((id): [NodeId, "voter"] => [id, "voter"]),
    ...status.confState.learners.map((id): [NodeId, "learner"] => [id, "learner"]),
  ];
  for (const [id, kind] of kinds) {
    const self = id === status.id;
    const progress = status.progress?.[id];
    let role: NodeMemberStatus["role"] = "unknown";
    if (self) role = status.role;
    else if (id === status.leader) role = "leader";
    else if (status.role === "leader") role = "follower";
    const healthy = self
      ? status.healthy
      : progress !== undefined
        ? progress.recentActive
        : addresses.connected(id);
    const member: NodeMemberStatus = {
      id,
      kind,
      role,
      healthy,
      matchIndex: self && status.role === "leader" ? status.lastIndex : (progress?.match ?? null),
    };
    const peerAddress = addresses.peerAddress(id);
    if (peerAddress !== undefined) member.peerAddress = peerAddress;
    const clientAddress = addresses.clientAddress(id);
    if (clientAddress !== null) member.clientAddress = clientAddress;
    members.push(member);
  }
  return {
    nodeId: status.id,
    role: status.role,
    term: status.term,
    leader: status.leader,
    commitIndex: status.commit,
    appliedIndex: status.applied,
    members,
    healthy: status.healthy,
    failure: status.failure,
    raftLog: {
      snapshotIndex: status.snapshotIndex,
      snapshotBytes: status.snapshotBytes,
      entries: status.logEntries,
      bytes: status.logBytes,
      snapshotsTaken: status.storage.snapshotsTaken,
      snapshotsInstalled: status.storage.snapshotsInstalled,
    },
  };
}

/**
 * The `status` answer. Indexes of other members are what this node knows: on the leader a
 * member's commit index is its match index; elsewhere only the node's own figures are exact.
 */
export function statusResult(status: HostStatus, addresses: MemberAddresses): StatusResult {
  const snapshot = nodeStatusSnapshot(status, addresses);
  const members: MemberStatus[] = snapshot.members.map((m) => {
    const self = m.id === status.id;
    return {
      id: m.id,
      role: m.kind === "learner" && m.role === "unknown" ? "learner" : m.role,
      term: self || m.role === "leader" || status.role === "leader" ? status.term : 0,
      commitIndex: self ? status.commit : Math.min(m.matchIndex ?? 0, status.commit),
      appliedIndex: self ? status.applied : Math.min(m.matchIndex ?? 0, status.commit),
      healthy: m.healthy,
      clientAddress: m.clientAddress ?? null,
    };
  });
  return { leader: status.leader, term: status.term, members };
}

/** The table limits in force on this node, for `status` and /status. */
export function tableLimitsStatus(table: LockStateMachine): TableLimitsStatus {
  const { limits, replicated } = table.tableLimits;
  const configuredDiffers = !sameTableLimits(limits, tableLimitsOf(table.configuredLimits));
  return { ...limits, replicated, configuredDiffers };
}

/**
 * Says at startup which table limits the stored table holds when this node's flags differ: the
 * cluster's are in force until this node leads and proposes its own.
 */
export function logTableLimitsAtStart(logger: Logger, table: LockStateMachine): void {
  const { limits, replicated } = table.tableLimits;
  const configured = tableLimitsOf(table.configuredLimits);
  if (!replicated || sameTableLimits(limits, configured)) return;
  const differ: Record<string, { flag: number; cluster: number }> = {};
  for (const name of TABLE_LIMIT_NAMES)
    if (limits[name] !== configured[name])
      differ[name] = { flag: configured[name], cluster: limits[name] };
  logger.info(
    { differ },
    "this node's limit flags differ from the cluster's: the cluster's stay in force until this node leads and proposes its own",
  );
}
