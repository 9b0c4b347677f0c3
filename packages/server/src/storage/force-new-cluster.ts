// `dlock server --force-new-cluster`: the way out of a lost quorum, like etcd's flag of that name.
// The survivor keeps its log and lock table and appends one config entry per other member that
// removes it, at a term above any it has seen, and marks its whole log committed: it is then the
// only voter, elects itself and serves. Entries it had but never saw committed become committed
// (the survivor's log is the cluster's history from now on). Fencing tokens are entry indexes and
// the new entries come after the whole log, so every later grant's token is above every earlier
// one. Other members are added back with `dlock member add` (with fresh data folders, --join).
import { applyConfChange } from "@dlock/raft";
import type { ConfState, Entry, NodeId } from "@dlock/raft";
import { StorageError } from "./errors.js";
import type { LevelStorage } from "./level-storage.js";

export interface ForcedCluster {
  /** The members that were removed. */
  removed: NodeId[];
  /** The new term and last (committed) index. */
  term: number;
  index: number;
}

/** The membership of the whole stored log (the snapshot's, then every config entry after it). */
export function logMembership(storage: LevelStorage): ConfState {
  let conf = storage.snapshot().metadata.confState;
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  if (last >= first) {
    for (const entry of storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER)) {
      if (entry.kind === "config" && entry.change !== undefined) {
        conf = applyConfChange(conf, entry.change);
      }
    }
  }
  return conf;
}

/** Rewrites the stored membership to `self` alone (see the file comment). */
export async function forceNewCluster(storage: LevelStorage, self: NodeId): Promise<ForcedCluster> {
  const conf = logMembership(storage);
  if (!conf.voters.includes(self)) {
    throw new StorageError(
      "RESTORE_REFUSED",
      `--force-new-cluster: ${self} is not a voter of its stored configuration (voters: ${conf.voters.join(", ") || "none"}); start it on a survivor that was a voter`,
    );
  }
  const removed = [...conf.voters, ...conf.learners].filter((id) => id !== self).sort();
  const { hardState } = storage.initialState();
  const last = storage.lastIndex();
  const lastTerm = storage.term(last);
  const term = Math.max(hardState.term, lastTerm) + 1;
  const entries: Entry[] = removed.map((nodeId, i) => ({
    index: last + 1 + i,
    term,
    kind: "config",
    data: new Uint8Array(0),
    change: { type: "remove", nodeId },
  }));
  const index = last + entries.length;
  await storage.write([
    { entries, hardState: { term, vote: null, commit: index }, mustSync: true },
  ]);
  return { removed, term, index };
}
