export type {
  ConfChange,
  ConfState,
  Entry,
  EntryKind,
  HardState,
  Message,
  MessageType,
  NodeId,
  ProgressState,
  ProgressStatus,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotBytes,
  StoredSnapshot,
  SnapshotMetadata,
  SoftState,
  Status,
  AppendRequest,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  SnapshotChunk,
  SnapshotResponse,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from "./types.js";
export type { Storage } from "./storage.js";
export type { RaftNode } from "./node-api.js";
export type {
  RaftConfig,
  RaftLogger,
  RefusalReason,
  ResolvedRaftConfig,
  SnapshotCheck,
  SnapshotStaging,
} from "./config.js";
export {
  DEFAULT_RAFT_CONFIG,
  memorySnapshotStaging,
  resolveRaftConfig,
  TERM_MAX,
} from "./config.js";
export { RawNode } from "./raw-node.js";
export { MemoryStorage } from "./memory-storage.js";
export { applyConfChange } from "./membership.js";
export { entryBytes } from "./entry-size.js";
export {
  CompactedError,
  ProposalDroppedError,
  RaftError,
  UnavailableError,
  isNotLeader,
  notLeaderError,
} from "./errors.js";
export type { RaftErrorCode } from "./errors.js";
