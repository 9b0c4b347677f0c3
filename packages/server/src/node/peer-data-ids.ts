// A voter whose data folder was lost and that comes back without `--join` would found a cluster of
// its own from its --cluster list: it forgot the votes it cast and the entries it acknowledged, so
// it could vote a second time in a term or help elect a leader that lacks committed entries, and
// it answers /readyz with an empty table. It cannot tell that from its first start, but its peers
// can: every data folder gets an id when it is created, peers send it in their hello, and each
// node remembers the id it last saw from every peer. A voter that shows another id is refused
// (HANDSHAKE_FAILED, reason "dataReplaced") by every peer that knew it, in both directions, so it
// never exchanges a Raft message with them. A learner or a non-member may change its id: that is
// the documented way back for a lost disk (member remove, --join on an empty folder, member add,
// promote), and the new id is learnt on its first connection, long before it can be promoted.
import { randomUUID } from "node:crypto";
import type { NodeId } from "@dlock/raft";
import { HandshakeFailedError } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import { META_DATA_ID, peerDataIdKey } from "../storage/keys.js";
import type { LevelStorage } from "../storage/level-storage.js";
import type { PeerDataCheck } from "../transport/peer-transport.js";

/** This data folder's id, made (and synced) on its first open; folders from before get one too. */
export async function dataFolderId(storage: LevelStorage): Promise<string> {
  const stored = await storage.readLocalRecord(META_DATA_ID);
  if (stored !== undefined) return stored.toString("utf8");
  const id = randomUUID();
  await storage.writeLocalRecord(META_DATA_ID, Buffer.from(id, "utf8"));
  return id;
}

export interface PeerDataIdsOptions {
  storage: LevelStorage;
  /** This node's data folder id (dataFolderId). */
  dataId: string;
  /** Every id that may connect (the command line's list and the replicated members). */
  peerIds: readonly NodeId[];
  /** Whether `id` is a voter as of the applied members. */
  isVoter(id: NodeId): boolean;
  logger: Logger;
}

/** Remembers each peer's data folder id and refuses a voter that shows another one. */
export class PeerDataIds implements PeerDataCheck {
  readonly dataId: string;
  private readonly known: Map<NodeId, string>;
  private readonly options: PeerDataIdsOptions;

  private constructor(options: PeerDataIdsOptions, known: Map<NodeId, string>) {
    this.options = options;
    this.dataId = options.dataId;
    this.known = known;
  }

  static async load(options: PeerDataIdsOptions): Promise<PeerDataIds> {
    const known = new Map<NodeId, string>();
    for (const id of options.peerIds) {
      const stored = await options.storage.readLocalRecord(peerDataIdKey(id));
      if (stored !== undefined) known.set(id, stored.toString("utf8"));
    }
    return new PeerDataIds(options, known);
  }

  admit(nodeId: NodeId, dataId: string | null): void {
    // A peer from before data folder ids: nothing to compare.
    if (dataId === null) return;
    const before = this.known.get(nodeId);
    if (before === dataId) return;
    if (before !== undefined && this.options.isVoter(nodeId)) {
      throw new HandshakeFailedError(
        "dataReplaced",
        `voter "${nodeId}" came back with another data folder (id ${dataId}, was ${before}): it lost the votes and entries it acknowledged, so it may not rejoin as the same voter. Stop ${nodeId}, run "dlock member remove ${nodeId}", then start it on an empty data folder with --join, "dlock member add" and "dlock member promote" it`,
      );
    }
    this.known.set(nodeId, dataId);
    // Not awaited: the handshake is synchronous. Losing this write (a crash right now) only loses
    // the check for this peer until its next connection.
    this.options.storage
      .writeLocalRecord(peerDataIdKey(nodeId), Buffer.from(dataId, "utf8"))
      .catch((error: unknown) =>
        this.options.logger.warn(
          { peer: nodeId, err: String(error) },
          "could not store the peer's data folder id",
        ),
      );
  }
}
