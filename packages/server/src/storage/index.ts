export { LevelStorage } from "./level-storage.js";
export type {
  LockRecordChange,
  StorageOpenOptions,
  StorageStats,
  StorageWrite,
} from "./level-storage.js";
export { StorageError } from "./errors.js";
export type { StorageErrorCode } from "./errors.js";
export { DEFAULT_GROUP_COMMIT_OPTIONS, GroupCommitter } from "./group-commit.js";
export type { BatchWriter, GroupCommitOptions, GroupCommitStats } from "./group-commit.js";
