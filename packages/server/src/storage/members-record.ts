// The cluster's members as of an applied index: who votes, who learns, and where each member's
// peer port is. It is replicated state (config entries carry the addresses), stored in the same
// batch as the applied index and included in snapshots, so a node that restarts or receives a
// snapshot knows the current members without its command-line list.
import type { ConfState, NodeId } from "@dlock/raft";
import { StorageError } from "./errors.js";

export interface ClusterMembers {
  voters: NodeId[];
  learners: NodeId[];
  /** Peer address ("host:port") of each member, as given when it was added. */
  peerAddresses: Record<NodeId, string>;
}

export const EMPTY_MEMBERS: ClusterMembers = { voters: [], learners: [], peerAddresses: {} };

export function copyMembers(members: ClusterMembers): ClusterMembers {
  return {
    voters: [...members.voters],
    learners: [...members.learners],
    peerAddresses: { ...members.peerAddresses },
  };
}

export function confStateOf(members: ClusterMembers): ConfState {
  return { voters: [...members.voters], learners: [...members.learners] };
}

export function encodeMembers(members: ClusterMembers): Buffer {
  return Buffer.from(JSON.stringify(members), "utf8");
}

function corrupt(): never {
  throw new StorageError("CORRUPT", "stored members record is malformed");
}

function ids(value: unknown): NodeId[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.length > 0)) {
    return corrupt();
  }
  return value as NodeId[];
}

export function decodeMembers(bytes: Uint8Array): ClusterMembers {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8"));
  } catch {
    return corrupt();
  }
  if (typeof value !== "object" || value === null) return corrupt();
  const record = value as Record<string, unknown>;
  const addresses = record.peerAddresses;
  if (typeof addresses !== "object" || addresses === null || Array.isArray(addresses)) {
    return corrupt();
  }
  const peerAddresses: Record<NodeId, string> = {};
  for (const [id, address] of Object.entries(addresses)) {
    if (typeof address !== "string") return corrupt();
    peerAddresses[id] = address;
  }
  return { voters: ids(record.voters), learners: ids(record.learners), peerAddresses };
}
