// @dlock/server: what an application needs to run a dlock server in its own process (DlockServer,
// its options, logging, TLS and auth files) and the errors it throws. The building blocks
// (Raft host, storage, transports, lock service) and the test hooks live in
// @dlock/server/internal; the pure lock state machine in @dlock/server/lock.
export { StorageError } from "./storage/index.js";
export type { StorageErrorCode } from "./storage/index.js";
export { HostError } from "./host/index.js";
export type { HostErrorCode, HostStatus } from "./host/index.js";
export {
  ConfigError,
  DEFAULT_SERVER_OPTIONS,
  createLogger,
  resolveServerOptions,
} from "./config/index.js";
export type {
  LogLevel,
  Logger,
  LoggerOptions,
  ResolvedServerOptions,
  ServerOptions,
} from "./config/index.js";
export { DlockServer } from "./node/index.js";
export type { DlockServerAddresses, DlockServerDependencies } from "./node/index.js";
export { CLIENT_CERTIFICATE_MODES } from "./transport/index.js";
export type { ClientCertificateMode, TlsOptions } from "./transport/index.js";
export type { NodeStatusSnapshot } from "./admin/index.js";
export type { AdminStatus } from "@dlock/protocol";
export {
  AUTH_TOKEN_PREFIX,
  generateAuthToken,
  hashAuthToken,
  loadAuthFile,
  parseAuthFile,
} from "./auth/index.js";
export type { AuthEntry, Grant, Operation, Role } from "./auth/index.js";
export { checkBackupFile, readBackup, restoreBackup } from "./storage/backup-restore-exports.js";
export type {
  BackupContents,
  BackupHeader,
  RestoreOptions,
  RestoreResult,
} from "./storage/backup-restore-exports.js";
