// What `dlock snapshot` needs from the storage, for the public entry point.
export { readBackup } from "./backup-file.js";
export { checkBackupFile } from "./backup-file-check.js";
export type { BackupContents, BackupHeader } from "./backup-file.js";
export { restoreBackup } from "./backup-restore.js";
export type { RestoreOptions, RestoreResult } from "./backup-restore.js";
