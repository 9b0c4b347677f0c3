// How a membership change carries a new member's address, and how applied changes update the
// members record. The Raft core treats ConfChange.context as opaque bytes; here it is JSON
// {"peerAddress": "host:port"}, set on addLearner (the other changes keep the address).
import { applyConfChange } from "@dlock/raft";
import type { ConfChange } from "@dlock/raft";
import { REMOVED_VOTERS_KEPT, copyMembers } from "../storage/members-record.js";
import type { ClusterMembers } from "../storage/members-record.js";

export interface MemberContext {
  /** The new member's peer address ("host:port"). */
  peerAddress: string;
}

export function encodeMemberContext(context: MemberContext): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(context), "utf8"));
}

/** The context of a change, or null when it carries none (or one this version cannot read). */
export function decodeMemberContext(bytes: Uint8Array | undefined): MemberContext | null {
  if (bytes === undefined || bytes.length === 0) return null;
  try {
    const value = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8"),
    ) as Partial<MemberContext> | null;
    return typeof value?.peerAddress === "string" ? { peerAddress: value.peerAddress } : null;
  } catch {
    return null;
  }
}

/**
 * The members after `change`, the entry at `index`. Deterministic: every member computes the same
 * record (a snapshot carries it to those that did not apply the change).
 */
export function applyMemberChange(
  members: ClusterMembers,
  change: ConfChange,
  index: number,
): ClusterMembers {
  const conf = applyConfChange({ voters: members.voters, learners: members.learners }, change);
  const next = copyMembers({ ...members, ...conf });
  const removed = (next.removedVoters ?? []).filter((voter) => voter.id !== change.nodeId);
  if (change.type === "remove") {
    if (members.voters.includes(change.nodeId)) {
      const peerAddress = members.peerAddresses[change.nodeId] ?? null;
      removed.push({ id: change.nodeId, index, peerAddress });
      if (removed.length > REMOVED_VOTERS_KEPT) removed.shift();
    }
    delete next.peerAddresses[change.nodeId];
  } else {
    const context = decodeMemberContext(change.context);
    if (context !== null) next.peerAddresses[change.nodeId] = context.peerAddress;
  }
  if (removed.length > 0) next.removedVoters = removed;
  else delete next.removedVoters;
  return next;
}
