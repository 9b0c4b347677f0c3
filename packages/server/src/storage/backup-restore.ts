// `dlock snapshot restore`: seeds the data folder of a node of a NEW cluster from a backup file.
// Every founder of the new cluster is restored from the same file with the same member list, so
// each holds the identical snapshot at the backup's (index, term) and their logs agree from there;
// nothing else differs from a node that received that snapshot from a leader. New entries (and so
// new fencing tokens, which are entry indexes) come after the backup's index: tokens only grow.
import { readdir } from "node:fs/promises";
import type { NodeId } from "@dlock/raft";
import type { BackupHeader } from "./backup-file.js";
import { readBackup } from "./backup-file.js";
import { StorageError } from "./errors.js";
import { LevelStorage } from "./level-storage.js";
import { EMPTY_MEMBERS, confStateOf } from "./members-record.js";
import type { ClusterMembers } from "./members-record.js";
import { encodeStateSnapshot, snapshotContents } from "./snapshot-state.js";

export interface RestoreOptions {
  /** The whole backup file. */
  file: Uint8Array;
  dataDir: string;
  /** The new cluster's id (the servers' --cluster-id). */
  clusterId: string;
  nodeId: NodeId;
  /** Every member of the new cluster and its peer address (the servers' --cluster list). */
  peers: Readonly<Record<NodeId, string>>;
  fsync?: boolean;
}

export interface RestoreResult {
  header: BackupHeader;
  members: ClusterMembers;
}

async function isEmptyFolder(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
}

/** Verifies the backup and writes it as node `nodeId`'s starting state into an empty folder. */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { header, snapshot } = readBackup(options.file);
  if (header.index === 0) {
    throw new StorageError("RESTORE_REFUSED", "the backup holds no applied state (index 0)");
  }
  const ids = Object.keys(options.peers).sort();
  if (!ids.includes(options.nodeId)) {
    throw new StorageError(
      "RESTORE_REFUSED",
      `node "${options.nodeId}" is not in the member list (${ids.join(", ")}): list every member of the new cluster, this one included`,
    );
  }
  if (!(await isEmptyFolder(options.dataDir))) {
    throw new StorageError(
      "DATA_EXISTS",
      `data folder ${options.dataDir} is not empty: restore seeds a new node; move the old folder away first`,
    );
  }
  const members: ClusterMembers = {
    voters: ids,
    learners: [],
    peerAddresses: { ...options.peers },
  };
  // The saved members are replaced by the new cluster's: the same bytes on every restored node.
  const { records } = snapshotContents(snapshot);
  const data = encodeStateSnapshot(header.index, header.term, records, members);
  const storage = await LevelStorage.open({
    dataDir: options.dataDir,
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    initialMembers: EMPTY_MEMBERS,
    fsync: options.fsync ?? true,
  });
  try {
    await storage.write([
      {
        snapshot: {
          metadata: { index: header.index, term: header.term, confState: confStateOf(members) },
          data,
        },
        hardState: { term: header.term, vote: null, commit: header.index },
        mustSync: true,
      },
    ]);
  } finally {
    await storage.close();
  }
  return { header, members };
}
