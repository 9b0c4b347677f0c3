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
  /**
   * Voters removed (and not added again), oldest first, at most REMOVED_VOTERS_KEPT; absent when
   * none. A removed voter that missed its removal campaigns until a leader tells it; after the
   * change is compacted and the members restart, this is the only record of it (and of where
   * to reach it).
   */
  removedVoters?: RemovedVoter[];
}

export interface RemovedVoter {
  id: NodeId;
  /** Index of the change that removed it. */
  index: number;
  /** Its peer address when it was removed; null if it had none on record. */
  peerAddress: string | null;
}

/** How many removed voters the members record keeps (the oldest is forgotten first). */
export const REMOVED_VOTERS_KEPT = 64;

export const EMPTY_MEMBERS: ClusterMembers = { voters: [], learners: [], peerAddresses: {} };

export function copyMembers(members: ClusterMembers): ClusterMembers {
  const copy: ClusterMembers = {
    voters: [...members.voters],
    learners: [...members.learners],
    peerAddresses: { ...members.peerAddresses },
  };
  if (members.removedVoters !== undefined && members.removedVoters.length > 0) {
    copy.removedVoters = members.removedVoters.map((voter) => ({ ...voter }));
  }
  return copy;
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
  const members: ClusterMembers = {
    voters: ids(record.voters),
    learners: ids(record.learners),
    peerAddresses,
  };
  // Absent in records written before removed voters were kept: none known.
  if (record.removedVoters !== undefined) {
    const removed = removedVoters(record.removedVoters);
    if (removed.length > 0) members.removedVoters = removed;
  }
  return members;
}

function removedVoters(value: unknown): RemovedVoter[] {
  if (!Array.isArray(value)) return corrupt();
  return value.map((item: unknown): RemovedVoter => {
    if (typeof item !== "object" || item === null) return corrupt();
    const { id, index, peerAddress } = item as Record<string, unknown>;
    if (typeof id !== "string" || id.length === 0) return corrupt();
    if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 1) return corrupt();
    if (peerAddress !== null && typeof peerAddress !== "string") return corrupt();
    return { id, index, peerAddress };
  });
}
