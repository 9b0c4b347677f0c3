export { LevelStorage } from "./level-storage.js";
export type {
  LockRecordChange,
  StorageOpenOptions,
  StorageStats,
  StorageWrite,
} from "./level-storage.js";
export type { HostStorage, SnapshotContents } from "./host-storage.js";
export { MemoryHostStorage } from "./memory-host-storage.js";
export type { MemoryHostStorageOptions } from "./memory-host-storage.js";
export { StorageError } from "./errors.js";
export { EMPTY_MEMBERS, confStateOf, copyMembers } from "./members-record.js";
export type { ClusterMembers } from "./members-record.js";
export type { StorageErrorCode } from "./errors.js";
export { DEFAULT_GROUP_COMMIT_OPTIONS, GroupCommitter } from "./group-commit.js";
export type { BatchWriter, GroupCommitOptions, GroupCommitStats } from "./group-commit.js";
export { wholeSnapshot } from "./snapshot-file-bytes.js";
