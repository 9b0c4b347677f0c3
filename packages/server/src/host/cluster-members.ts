// How a membership change carries a new member's address, and how applied changes update the
// members record. The Raft core treats ConfChange.context as opaque bytes; here it is JSON
// {"peerAddress": "host:port"}, set on addLearner (the other changes keep the address).
import { applyConfChange } from "@dlock/raft";
import type { ConfChange } from "@dlock/raft";
import { copyMembers } from "../storage/members-record.js";
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

/** The members after `change`. Deterministic: every member computes the same record. */
export function applyMemberChange(members: ClusterMembers, change: ConfChange): ClusterMembers {
  const conf = applyConfChange({ voters: members.voters, learners: members.learners }, change);
  const next = copyMembers({ ...members, ...conf });
  if (change.type === "remove") delete next.peerAddresses[change.nodeId];
  else {
    const context = decodeMemberContext(change.context);
    if (context !== null) next.peerAddresses[change.nodeId] = context.peerAddress;
  }
  return next;
}
