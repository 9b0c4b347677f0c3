// The "limits changed" info line: once per real change, not again for entries a restarted node
// replays, nor for a new leader's entry restating the limits in force.
import { describe, expect, it } from "vitest";
import type { Entry } from "@dlock/raft";
import { LockStateMachine } from "@dlock/server/lock";
import type { LockCommand, LockResult } from "@dlock/server/lock";
import { LimitsChangeLog } from "../../src/node/limits-change-log.js";
import { RecordingLogger } from "../transport/helpers.js";

const machine = (waitersPerKeyMax: number) =>
  new LockStateMachine({ limits: { electionTimeoutMs: 100, waitersPerKeyMax } });
/** The setLimits entry a leader whose flag is `waitersPerKeyMax` proposes. */
const limitsOf = (waitersPerKeyMax: number): LockCommand =>
  machine(waitersPerKeyMax).limitsProposal()!;
/** Any entry other than setLimits. */
const other: LockCommand = { type: "release", key: "k", value: "v", token: 1 };

/** Applies `commands` from index `first` on, handing each batch to `log` as the host does. */
function applyAll(
  table: LockStateMachine,
  log: LimitsChangeLog,
  first: number,
  commands: LockCommand[],
): void {
  const entries: Entry[] = [];
  const results: LockResult[] = [];
  commands.forEach((command, i) => {
    const index = first + i;
    entries.push({ index, term: 1, kind: "normal", data: new Uint8Array(0) });
    results.push(table.apply(index, command));
  });
  log.onApplied(entries, results);
}

/** A node started with `waitersPerKeyMax` and an empty table, nothing to replay. */
function freshNode(waitersPerKeyMax: number) {
  const table = machine(waitersPerKeyMax);
  const logger = new RecordingLogger();
  const log = new LimitsChangeLog({
    logger,
    loaded: table.tableLimits.limits,
    replayThroughIndex: 0,
  });
  return { table, logger, log };
}

const infoLines = (logger: RecordingLogger) =>
  logger.records
    .filter((r) => r.level === "info")
    .map((r) => ({ message: r.message, index: r.fields.index }));

describe("LimitsChangeLog", () => {
  it("says each real change once, and nothing again for entries a restarted node replays", () => {
    // Before the restart: the limits change at 1 and 3; entry 4 is a new leader restating them.
    const before = machine(8);
    const firstRun = new RecordingLogger();
    const beforeLog = new LimitsChangeLog({
      logger: firstRun,
      loaded: before.tableLimits.limits,
      replayThroughIndex: 0,
    });
    applyAll(before, beforeLog, 1, [limitsOf(16), other]);
    const storedAt2 = before.snapshot();
    applyAll(before, beforeLog, 3, [limitsOf(32), limitsOf(32)]);
    expect(infoLines(firstRun)).toEqual([
      { message: "the log changed the table limits in force", index: 1 },
      { message: "the log changed the table limits in force", index: 3 },
    ]);

    // Restarted with its table stored at 2 and the log committed to 4: 3 and 4 are replayed.
    const after = machine(8);
    after.restoreSnapshot(storedAt2);
    const secondRun = new RecordingLogger();
    const afterLog = new LimitsChangeLog({
      logger: secondRun,
      loaded: after.tableLimits.limits,
      replayThroughIndex: 4,
    });
    applyAll(after, afterLog, 3, [limitsOf(32), limitsOf(32)]);
    expect(after.tableLimits.limits.waitersPerKeyMax).toBe(32);
    expect(infoLines(secondRun)).toEqual([]);
    expect(secondRun.records.filter((r) => r.level === "debug")).toHaveLength(1);
    // New entries: a restatement says nothing, a real change says so once.
    applyAll(after, afterLog, 5, [limitsOf(32), limitsOf(64), limitsOf(64)]);
    expect(infoLines(secondRun)).toEqual([
      { message: "the log changed the table limits in force", index: 6 },
    ]);
    expect(secondRun.records.at(-1)?.fields.limits).toMatchObject({ waitersPerKeyMax: 64 });
  });

  it("says nothing when the first replicated limits equal the ones a node was already enforcing", () => {
    const { table, logger, log } = freshNode(8);
    applyAll(table, log, 1, [limitsOf(8)]);
    expect(table.tableLimits.replicated).toBe(true);
    expect(logger.records).toEqual([]);
  });

  it("after a snapshot install, judges the next entries against the limits the snapshot brought", () => {
    // The node said 16 came in force at 1; a leader's snapshot at 3 brings 32 (set by an entry
    // this node never applied); the next leader's entry restates 32.
    const { table, logger, log } = freshNode(8);
    applyAll(table, log, 1, [limitsOf(16)]);
    const leader = machine(8);
    [limitsOf(16), other, limitsOf(32)].forEach((command, i) => leader.apply(1 + i, command));
    table.restoreSnapshot(leader.snapshot());
    log.snapshotInstalled(3, table.tableLimits.limits);
    // Judged against the 16 it last heard of, the restatement would be said as a change.
    applyAll(table, log, 4, [limitsOf(32), other]);
    expect(infoLines(logger)).toEqual([
      { message: "the log changed the table limits in force", index: 1 },
      { message: "a snapshot changed the table limits in force", index: 3 },
    ]);
    // A snapshot that brings the limits already in force says nothing.
    log.snapshotInstalled(5, table.tableLimits.limits);
    applyAll(table, log, 6, [limitsOf(64)]);
    expect(infoLines(logger).at(-1)).toEqual({
      message: "the log changed the table limits in force",
      index: 6,
    });
    expect(infoLines(logger)).toHaveLength(3);
  });
});
