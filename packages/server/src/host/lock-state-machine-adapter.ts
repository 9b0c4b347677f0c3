import type { Entry } from "@dlock/raft";
import type { LockResult, LockStateMachine } from "../lock/index.js";
import type { LockRecordChange } from "../storage/host-storage.js";
import type { StateMachine } from "./interfaces.js";

/** Plugs the pure lock table into RaftHost: Raft entries in, dirty records out. */
export function lockStateMachineAdapter(table: LockStateMachine): StateMachine<LockResult> {
  const recordsOf = (keys: Iterable<string>): LockRecordChange[] => {
    const out: LockRecordChange[] = [];
    for (const key of keys) out.push([key, table.encodeLockRecord(key)]);
    return out;
  };
  return {
    apply(entries: readonly Entry[]): Array<LockResult | undefined> {
      const results = new Array<LockResult | undefined>(entries.length);
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (entry.kind === "normal") results[i] = table.applyEntry(entry.index, entry.data);
        else table.markApplied(entry.index);
      }
      return results;
    },
    appliedIndex: () => table.appliedIndex,
    takeChanges: () => recordsOf(table.takeDirtyKeys()),
    changesPending: () => table.dirtyKeyCount,
    load(appliedIndex, records): void {
      table.loadRecords(
        appliedIndex,
        records.map(([, record]) => record),
      );
    },
    loadChunks: (appliedIndex, chunks) => table.loadRecordChunks(appliedIndex, chunks),
    prepareRestore: (appliedIndex, chunks, recordsExpected) =>
      table.prepareRecordChunks(appliedIndex, chunks, recordsExpected),
    restore(appliedIndex, records): void {
      table.replaceRecords(
        appliedIndex,
        records.map(([, record]) => record),
      );
    },
  };
}
