// Who may save a backup and of which state: an admin (when the server has an auth file; without
// one the admin port is as open as /status), from the leader, at an applied index that includes
// everything committed before the request (ReadIndex, then a synced write that carries the state
// machine's pending changes, then a read of the stored table at its applied index). The state is
// held (a LevelDB snapshot) until the endpoint has sent it and closes the backup.
import type { NodeId } from "@dlock/raft";
import type { SnapshotAnswer, SnapshotSource } from "../admin/snapshot-endpoint.js";
import type { Authenticator } from "../auth/authenticator.js";
import { isAdmin } from "../auth/grants.js";
import { backupOf } from "../storage/backup-file.js";
import type { StateExport } from "../storage/state-export.js";
import type { Logger } from "@dlock/protocol";

export interface SnapshotSourceOptions {
  clusterId: string;
  nodeId: NodeId;
  /** Null without --auth-file. */
  authenticator: Authenticator | null;
  host: {
    status(): { role: string; leader: NodeId | null };
    readIndex(): Promise<void>;
    checkStorageWritable(): Promise<void>;
  };
  storage: { exportState(): Promise<StateExport> };
  logger: Logger;
  /** Wall-clock time for the file's savedAt field (the operator's information only). */
  now?: () => Date;
}

export function snapshotSource(options: SnapshotSourceOptions): SnapshotSource {
  return {
    async save({ authToken }): Promise<SnapshotAnswer> {
      if (options.authenticator !== null) {
        if (authToken === null) {
          return {
            status: 401,
            error:
              "this server has an auth file: pass an admin's token (--auth-token, DLOCK_AUTH_TOKEN)",
          };
        }
        let principal;
        try {
          principal = options.authenticator.authenticate({ authToken, certificateName: null });
        } catch (error) {
          return { status: 401, error: (error as Error).message };
        }
        if (!isAdmin(principal)) {
          return {
            status: 403,
            error: `principal "${principal.name}" is not an admin: snapshots need the admin role`,
          };
        }
      }
      const status = options.host.status();
      if (status.role !== "leader") {
        return {
          status: 409,
          error: `not the leader (the leader is ${status.leader ?? "unknown"}): ask the leader's admin port`,
          leader: status.leader,
        };
      }
      try {
        await options.host.readIndex();
        await options.host.checkStorageWritable();
      } catch (error) {
        return {
          status: 503,
          error: `cannot reach a consistent state: ${(error as Error).message}`,
        };
      }
      const state = await options.storage.exportState();
      let backup;
      try {
        backup = await backupOf(state, {
          clusterId: options.clusterId,
          savedBy: options.nodeId,
          savedAt: (options.now ?? (() => new Date()))().toISOString(),
        });
      } catch (error) {
        await state.close();
        throw error;
      }
      const { header } = backup;
      options.logger.info(
        { index: header.index, records: header.records, bytes: header.snapshotBytes },
        "snapshot saved for a backup",
      );
      return { status: 200, backup };
    },
  };
}
