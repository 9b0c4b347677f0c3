// One compliance suite for every raft Storage implementation: what the core reads after appends,
// truncations, hard-state writes, snapshot installs, compactions and a reopen must agree, whoever
// stores it. Implementations that are a RaftHost's HostStorage also round-trip the state
// machine's records, applied index and members. It lives with the server's tests so that they run
// it on the server's stores; testkit runs it on the simulated store.
import type { Entry, HardState, Snapshot, Storage } from "@dlock/raft";
import { CompactedError, UnavailableError } from "@dlock/raft";
import { describe, expect, it } from "vitest";
import type { HostStorage } from "../../src/storage/host-storage.js";
import type { ClusterMembers } from "../../src/storage/members-record.js";
import { range } from "./helpers.js";
import { wholeSnapshot } from "../../src/storage/snapshot-file-bytes.js";

export const COMPLIANCE_MEMBERS: ClusterMembers = {
  voters: ["n1", "n2", "n3"],
  learners: [],
  peerAddresses: {},
};

/** One opened store, driven through a common write API. */
export interface ComplianceStore {
  storage: Storage;
  /** Set when the store is a RaftHost's storage (records, applied index, members). */
  host?: HostStorage;
  append(entries: readonly Entry[]): Promise<void>;
  setHardState(hardState: HardState, sync: boolean): Promise<void>;
  /** Installs a snapshot from the leader (made by snapshotFor). */
  install(snapshot: Snapshot): Promise<void>;
  /** Snapshots the state at `index` (applied) and drops the log up to it. */
  compact(index: number): Promise<void>;
  /** Closes and opens the same store again (absent: the store lives in memory only). */
  reopen?: () => Promise<ComplianceStore>;
  close(): Promise<void>;
}

export interface ComplianceFactory {
  name: string;
  /** The store outlives close(): the reopen round trip applies. */
  persistent: boolean;
  /** A fresh store whose bootstrap members are COMPLIANCE_MEMBERS. */
  open(): Promise<ComplianceStore>;
}

/** Entries from..to (inclusive) of one term. */
export const entries = range;

const BIG = 1 << 30;

/**
 * A leader's snapshot at (index, term) in the store's own format, holding `records`: made by a
 * second store of the same kind that applied them and compacted.
 */
async function snapshotFor(
  factory: ComplianceFactory,
  index: number,
  term: number,
  records: Array<[string, Uint8Array]>,
): Promise<Snapshot> {
  const source = await factory.open();
  try {
    await source.append(entries(1, index, term));
    if (source.host !== undefined) {
      await source.host.write([{ lockRecords: records, appliedIndex: index, mustSync: true }]);
    }
    await source.compact(index);
    return wholeSnapshot(source.storage.snapshot());
  } finally {
    await source.close();
  }
}

/** Records with plain byte arrays (a Buffer and a Uint8Array of the same bytes compare equal). */
function plain(records: ReadonlyArray<readonly [string, Uint8Array]>): Array<[string, number[]]> {
  return records.map(([key, value]) => [key, [...value]]);
}

function indexes(list: readonly Entry[]): number[] {
  return list.map((e) => e.index);
}

export function storageCompliance(factory: ComplianceFactory): void {
  describe(`Storage compliance: ${factory.name}`, () => {
    it("starts empty with the bootstrap membership", async () => {
      const store = await factory.open();
      const { storage } = store;
      expect(storage.firstIndex()).toBe(1);
      expect(storage.lastIndex()).toBe(0);
      expect(storage.term(0)).toBe(0);
      expect(storage.initialState().confState.voters).toEqual(["n1", "n2", "n3"]);
      expect(storage.initialState().hardState).toEqual({ term: 0, vote: null, commit: 0 });
      expect(() => storage.term(1)).toThrow(UnavailableError);
      await store.close();
    });

    it("serves appended entries within a byte budget (at least one)", async () => {
      const store = await factory.open();
      const { storage } = store;
      await store.append(entries(1, 5, 1));
      expect(storage.lastIndex()).toBe(5);
      expect(storage.term(3)).toBe(1);
      expect(indexes(storage.entries(2, 5, BIG))).toEqual([2, 3, 4]);
      expect(indexes(storage.entries(2, 5, 1))).toEqual([2]);
      expect(() => storage.term(6)).toThrow(UnavailableError);
      expect(() => storage.entries(1, 7, BIG)).toThrow(UnavailableError);
      await store.close();
    });

    it("replaces the stored suffix when entries overwrite it, and refuses a gap", async () => {
      const store = await factory.open();
      const { storage } = store;
      await store.append(entries(1, 5, 1));
      await store.append(entries(3, 4, 2));
      expect(storage.lastIndex()).toBe(4);
      expect(storage.term(2)).toBe(1);
      expect(storage.term(3)).toBe(2);
      await expect(store.append(entries(7, 8, 2))).rejects.toThrow();
      expect(storage.lastIndex()).toBe(4);
      await store.close();
    });

    it("keeps the hard state", async () => {
      const store = await factory.open();
      await store.setHardState({ term: 3, vote: "n2", commit: 0 }, true);
      expect(store.storage.initialState().hardState).toEqual({ term: 3, vote: "n2", commit: 0 });
      await store.close();
    });

    it("compacts the log behind a snapshot", async () => {
      const store = await factory.open();
      const { storage } = store;
      await store.append([...entries(1, 4, 1), ...entries(5, 10, 2)]);
      await store.compact(6);
      expect(storage.firstIndex()).toBe(7);
      expect(storage.lastIndex()).toBe(10);
      expect(storage.term(6)).toBe(2);
      expect(storage.snapshot().metadata).toMatchObject({ index: 6, term: 2 });
      expect(() => storage.term(5)).toThrow(CompactedError);
      expect(() => storage.entries(5, 8, BIG)).toThrow(CompactedError);
      expect(indexes(storage.entries(7, 11, BIG))).toEqual([7, 8, 9, 10]);
      await store.close();
    });

    it("installs a leader's snapshot over the whole log and appends after it", async () => {
      const snapshot = await snapshotFor(factory, 8, 3, [["k", new Uint8Array([1, 2])]]);
      const store = await factory.open();
      const { storage } = store;
      await store.append(entries(1, 5, 1));
      await store.install(snapshot);
      expect(storage.firstIndex()).toBe(9);
      expect(storage.lastIndex()).toBe(8);
      expect(storage.term(8)).toBe(3);
      expect(storage.snapshot().metadata.index).toBe(8);
      await store.append(entries(9, 10, 3));
      expect(storage.lastIndex()).toBe(10);
      if (store.host !== undefined) {
        expect(store.host.appliedIndex()).toBe(8);
        expect(plain(await store.host.readLockRecords())).toEqual([["k", [1, 2]]]);
        expect(plain(store.host.snapshotContents(snapshot.data).records)).toEqual([["k", [1, 2]]]);
        expect(store.host.snapshotProblem(snapshot)).toBeNull();
        const wrongIndex = { ...snapshot, metadata: { ...snapshot.metadata, index: 9 } };
        expect(store.host.snapshotProblem(wrongIndex)).not.toBeNull();
      }
      await store.close();
    });

    if (!factory.persistent) return;
    it("reopens with everything a synced write and a compaction left", async () => {
      const store = await factory.open();
      if (store.reopen === undefined) throw new Error(`${factory.name} is persistent: reopen()`);
      await store.append(entries(1, 9, 2));
      await store.compact(4);
      await store.setHardState({ term: 2, vote: "n1", commit: 7 }, true);
      if (store.host !== undefined) {
        await store.host.write([
          {
            lockRecords: [
              ["a", new Uint8Array([7])],
              ["b", new Uint8Array([8])],
            ],
            members: { ...COMPLIANCE_MEMBERS, learners: ["n4"] },
            appliedIndex: 7,
            mustSync: true,
          },
        ]);
        await store.host.write([{ lockRecords: [["a", null]], mustSync: true }]);
      }
      const again = await store.reopen();
      const { storage } = again;
      expect(storage.firstIndex()).toBe(5);
      expect(storage.lastIndex()).toBe(9);
      expect(storage.term(4)).toBe(2);
      expect(indexes(storage.entries(5, 10, BIG))).toEqual([5, 6, 7, 8, 9]);
      expect(storage.initialState().hardState).toEqual({ term: 2, vote: "n1", commit: 7 });
      if (again.host !== undefined) {
        expect(again.host.appliedIndex()).toBe(7);
        expect(again.host.appliedMembers().learners).toEqual(["n4"]);
        expect(plain(await again.host.readLockRecords())).toEqual([["b", [8]]]);
        expect(again.host.logEntries()).toBe(5);
        expect(again.host.logBytes()).toBeGreaterThan(0);
        // Applied 7 is past the snapshot at 4: one compaction to 7, then nothing is left to do.
        expect((await again.host.createSnapshot())?.index).toBe(7);
        expect(await again.host.createSnapshot()).toBeNull();
      }
      await again.close();
    });
  });
}

/** A HostStorage driven through the common API (LevelStorage, the simulated store). */
export function hostComplianceStore(
  host: HostStorage,
  reopen?: () => Promise<HostStorage>,
): ComplianceStore {
  return {
    storage: host,
    host,
    append: (list) => host.write([{ entries: list, mustSync: true }]),
    setHardState: (hardState, sync) => host.write([{ hardState, mustSync: sync }]),
    install: (snapshot) => host.write([{ snapshot, mustSync: true }]),
    async compact(index) {
      if (host.appliedIndex() < index) {
        await host.write([{ appliedIndex: index, mustSync: true }]);
      }
      const metadata = await host.createSnapshot();
      expect(metadata?.index).toBe(index);
    },
    reopen:
      reopen === undefined
        ? undefined
        : async () => {
            await host.close();
            return hostComplianceStore(await reopen(), reopen);
          },
    close: () => host.close(),
  };
}
