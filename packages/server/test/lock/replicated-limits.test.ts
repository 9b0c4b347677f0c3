import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { LockCommand, LockLimits, LockResult, TableLimits } from "@dlock/server/lock";
import { TABLE_LIMIT_NAMES } from "@dlock/protocol";
import { LockStateMachine, encodeCommand } from "@dlock/server/lock";
import { backupOf } from "../../src/storage/backup-file.js";
import type { StateExport } from "../../src/storage/state-export.js";

// The table limits are replicated state: members started with different flags apply the same log
// alike once a setLimits entry is in it.

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** The limits the log sets: different from both members' flags below. */
const REPLICATED: TableLimits = {
  keyBytesMax: 32,
  valueBytesMax: 32,
  ttlMsMin: 500,
  ttlMsMax: 60_000,
  waitMsMax: 60_000,
  waitersPerKeyMax: 3,
  locksMax: 6,
  lockDelayMsMax: 5_000,
  semaphorePermitsMax: 4,
};

const FLAGS_A: LockLimits = {
  electionTimeoutMs: 100,
  waitersPerKeyMax: 2,
  locksMax: 4,
  semaphorePermitsMax: 8,
};
const FLAGS_B: LockLimits = {
  electionTimeoutMs: 50,
  waitersPerKeyMax: 5,
  locksMax: 100,
  semaphorePermitsMax: 3,
};

/**
 * A setLimits entry as the log holds it: [11, "", ...values in TABLE_LIMIT_NAMES order]. Written
 * by hand (not encodeCommand) so that this test also runs against a version without the entry
 * (it fails there: the members diverge).
 */
function setLimitsEntry(limits: TableLimits): Uint8Array {
  return packr.pack([
    11,
    "",
    ...TABLE_LIMIT_NAMES.map((name) => limits[name]),
  ]) as unknown as Uint8Array;
}

const ACQUIRE = { ttlMs: 1000, waitMs: 0, requestId: 1 } as const;

/** Entries that hit every limit the flags above set differently. */
function workload(): LockCommand[] {
  const commands: LockCommand[] = [];
  // An rw key gets its slot count at its first acquire: readers up to it share, then busy.
  for (const reader of ["r1", "r2", "r3", "r4", "r5"])
    commands.push({ type: "rwAcquire", key: "rw", value: reader, mode: "read", ...ACQUIRE });
  commands.push({ type: "rwAcquire", key: "rw", value: "w", mode: "write", ...ACQUIRE, waitMs: 9 });
  // A lock's queue up to waitersPerKeyMax, then WAITERS_FULL.
  commands.push({ type: "acquire", key: "q", value: "v0", lockDelayMs: 0, ...ACQUIRE });
  for (const value of ["v1", "v2", "v3", "v4", "v5", "v6"])
    commands.push({ type: "acquire", key: "q", value, lockDelayMs: 0, ...ACQUIRE, waitMs: 9_000 });
  // A semaphore asking for more permits than one member's flag allows.
  commands.push({
    type: "semaphoreAcquire",
    key: "sem",
    value: "s",
    permits: 4,
    count: 1,
    ...ACQUIRE,
  });
  // Keys up to locksMax, then LOCKS_FULL.
  for (let i = 0; i < 8; i++)
    commands.push({ type: "acquire", key: `k${i}`, value: "v", lockDelayMs: 0, ...ACQUIRE });
  return commands;
}

function run(
  flags: LockLimits,
  entries: Uint8Array[],
): { machine: LockStateMachine; results: LockResult[] } {
  const machine = new LockStateMachine({ limits: flags });
  const results = entries.map((bytes, i) => machine.applyEntry(i + 1, bytes));
  return { machine, results };
}

/** Every stored record of a table, as the host keeps them (the limits record under ""). */
function storedRecords(machine: LockStateMachine): Uint8Array[] {
  const records: Uint8Array[] = [];
  for (const key of ["", ...machine.keys()]) {
    const record = machine.encodeLockRecord(key);
    if (record !== null) records.push(record);
  }
  return records;
}

describe("replicated table limits", () => {
  const entries = [setLimitsEntry(REPLICATED), ...workload().map((c) => encodeCommand(c))];

  it('writes setLimits as [11, "", ...limits] in a fixed order (the log format)', () => {
    const entry = encodeCommand({ type: "setLimits", key: "", ...REPLICATED });
    const pinned = packr.pack([11, "", 32, 32, 500, 60_000, 60_000, 3, 6, 5_000, 4]);
    expect(Buffer.from(entry).equals(pinned)).toBe(true);
  });

  it("two members with different flags apply the same log to the same table", () => {
    const a = run(FLAGS_A, entries);
    const b = run(FLAGS_B, entries);
    expect(a.results).toEqual(b.results);
    expect(Buffer.from(a.machine.snapshot()).equals(Buffer.from(b.machine.snapshot()))).toBe(true);
    expect(a.machine.stateHash()).toBe(b.machine.stateHash());
    // A member whose flags already are the replicated limits gets the very same results too.
    const same = run({ electionTimeoutMs: 100, ...REPLICATED }, entries);
    expect(same.results).toEqual(a.results);
    // And the table is the one the replicated limits give, not either member's flags.
    expect(a.results[0]).toMatchObject({ type: "limitsSet", limits: REPLICATED });
    expect(a.machine.semaphoreState("rw")?.permits).toBe(REPLICATED.semaphorePermitsMax);
    expect(a.machine.waiters("q")).toHaveLength(REPLICATED.waitersPerKeyMax);
    expect(
      a.results.filter((r) => r.type === "rejected" && r.code === "WAITERS_FULL"),
    ).toHaveLength(3);
    expect(a.machine.size).toBe(REPLICATED.locksMax);
    expect(a.machine.tableLimits).toEqual({ limits: REPLICATED, replicated: true });
  });

  it("the limits travel with the stored records and the snapshot", () => {
    const a = run(FLAGS_A, entries);
    const loaded = new LockStateMachine({ limits: FLAGS_B });
    loaded.loadRecords(entries.length, storedRecords(a.machine));
    expect(loaded.tableLimits).toEqual({ limits: REPLICATED, replicated: true });
    expect(loaded.stateHash()).toBe(a.machine.stateHash());

    const restored = new LockStateMachine({ limits: FLAGS_B });
    restored.restoreSnapshot(a.machine.snapshot());
    expect(restored.tableLimits).toEqual({ limits: REPLICATED, replicated: true });
    expect(restored.stateHash()).toBe(a.machine.stateHash());
    // The next entries apply alike on all three.
    const next = encodeCommand({
      type: "acquire",
      key: "q",
      value: "late",
      lockDelayMs: 0,
      ...ACQUIRE,
      waitMs: 9,
    });
    const results = [a.machine, loaded, restored].map((m) =>
      m.applyEntry(entries.length + 1, next),
    );
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("a backup header's highest fencing token reads every kind of record, the limits one too", async () => {
    const a = run(FLAGS_A, entries);
    const records = storedRecords(a.machine);
    // The state as LevelStorage exports it: here only its lock records matter.
    const state: StateExport = {
      index: entries.length,
      term: 1,
      dump: (_append, onLockRecord) => {
        for (const record of records) onLockRecord?.(Buffer.from("l"), Buffer.from(record));
        return Promise.resolve({ voters: ["n1"], learners: [], peerAddresses: {} });
      },
      close: () => Promise.resolve(),
    };
    let highest = 0;
    for (const key of a.machine.keys()) {
      highest = Math.max(highest, a.machine.get(key).fencingToken);
      for (const h of a.machine.semaphoreState(key)?.holders ?? [])
        highest = Math.max(highest, h.token);
    }
    expect(highest).toBeGreaterThan(0);
    const { header } = await backupOf(state, { clusterId: "c", savedBy: "n1", savedAt: "now" });
    expect(header.maxFencingToken).toBe(highest);
    // The limits record is stored beside the keys, not counted as one.
    expect(header.records).toBe(records.length - 1);
  });

  it("until a setLimits entry is applied the configured limits are in force, and a leader proposes its own", () => {
    const machine = new LockStateMachine({ limits: FLAGS_A });
    expect(machine.tableLimits.replicated).toBe(false);
    expect(machine.tableLimits.limits.waitersPerKeyMax).toBe(FLAGS_A.waitersPerKeyMax);
    expect(machine.encodeLockRecord("")).toBeNull();
    const proposal = machine.limitsProposal();
    expect(proposal).toMatchObject({
      type: "setLimits",
      key: "",
      waitersPerKeyMax: 2,
      locksMax: 4,
    });
    // Its own limits, once applied, are replicated: nothing more to propose.
    const result = machine.applyEntry(1, encodeCommand(proposal!));
    expect(result).toMatchObject({ type: "limitsSet", changed: true });
    expect(machine.tableLimits.replicated).toBe(true);
    expect(machine.limitsProposal()).toBeNull();
    expect(machine.takeDirtyKeys()).toEqual([""]);
    // The same again changes nothing (`changed` never depends on a member's flags).
    expect(machine.applyEntry(2, encodeCommand(proposal!))).toMatchObject({ changed: false });
    // Another member's limits applied: this node would propose its own again when it leads.
    expect(machine.applyEntry(3, setLimitsEntry(REPLICATED))).toMatchObject({ changed: true });
    expect(machine.limitsProposal()).toMatchObject({ locksMax: 4 });
  });

  it("refuses unusable limits without changing anything, alike everywhere", () => {
    const bad = [
      { ...REPLICATED, semaphorePermitsMax: 0 },
      { ...REPLICATED, ttlMsMax: 100 },
      { ...REPLICATED, waitersPerKeyMax: 1_000_000 },
    ];
    for (const limits of bad) {
      const machine = new LockStateMachine({ limits: FLAGS_A });
      const result = machine.applyEntry(1, setLimitsEntry(limits));
      expect(result).toMatchObject({ type: "rejected", code: "INVALID_ARGUMENT" });
      expect(machine.tableLimits.replicated).toBe(false);
    }
    const keyed = new LockStateMachine({ limits: FLAGS_A });
    const entry = packr.pack([11, "k", ...TABLE_LIMIT_NAMES.map((n) => REPLICATED[n])]);
    expect(keyed.applyEntry(1, entry as unknown as Uint8Array)).toMatchObject({ type: "rejected" });
    expect(keyed.tableLimits.replicated).toBe(false);
  });
});

describe("a lower waiters-per-key limit", () => {
  const LONG_QUEUE: LockLimits = { electionTimeoutMs: 100, waitersPerKeyMax: 5 };
  const SHORT_QUEUE: LockLimits = { electionTimeoutMs: 100, waitersPerKeyMax: 2 };

  function queuedTable(): LockStateMachine {
    const machine = new LockStateMachine({ limits: LONG_QUEUE });
    let index = 0;
    machine.apply(++index, {
      type: "acquire",
      key: "lock",
      value: "h",
      lockDelayMs: 0,
      ...ACQUIRE,
    });
    machine.apply(++index, { type: "rwAcquire", key: "rw", value: "w", mode: "write", ...ACQUIRE });
    for (let i = 0; i < 5; i++) {
      const value = `w${i}`;
      const wait = { ...ACQUIRE, waitMs: 9_000 };
      expect(
        machine.apply(++index, { type: "acquire", key: "lock", value, lockDelayMs: 0, ...wait }),
      ).toMatchObject({ type: "queued" });
      expect(
        machine.apply(++index, { type: "rwAcquire", key: "rw", value, mode: "read", ...wait }),
      ).toMatchObject({ type: "queued" });
    }
    return machine;
  }

  it("loads a stored queue longer than the limit, and refuses only new waiters", () => {
    const before = queuedTable();
    const restarted = new LockStateMachine({ limits: SHORT_QUEUE });
    restarted.loadRecords(before.appliedIndex, storedRecords(before));
    expect(restarted.waiters("lock")).toHaveLength(5);
    expect(restarted.semaphoreState("rw")?.waiters).toHaveLength(5);
    const index = before.appliedIndex;
    const wait = { ...ACQUIRE, waitMs: 9_000 };
    expect(
      restarted.apply(index + 1, {
        type: "acquire",
        key: "lock",
        value: "x",
        lockDelayMs: 0,
        ...wait,
      }),
    ).toMatchObject({ type: "rejected", code: "WAITERS_FULL" });
    expect(
      restarted.apply(index + 2, {
        type: "rwAcquire",
        key: "rw",
        value: "x",
        mode: "read",
        ...wait,
      }),
    ).toMatchObject({ type: "rejected", code: "WAITERS_FULL" });
  });

  it("a snapshot with a queue longer than the replicated limit restores", () => {
    const before = queuedTable();
    before.applyEntry(
      before.appliedIndex + 1,
      setLimitsEntry({ ...REPLICATED, locksMax: 10, waitersPerKeyMax: 1 }),
    );
    const restored = new LockStateMachine({ limits: SHORT_QUEUE });
    restored.restoreSnapshot(before.snapshot());
    expect(restored.waiters("lock")).toHaveLength(5);
    expect(restored.stateHash()).toBe(before.stateHash());
  });
});
