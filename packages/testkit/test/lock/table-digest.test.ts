import type { LockCommand } from "@dlock/server/lock";
import { LockStateMachine } from "@dlock/server/lock";
import { describe, expect, it } from "vitest";
import { Prng } from "../../src/prng.js";
import { lockTableDigest } from "../../src/lock/table-digest.js";

const KEYS = ["a", "b"];
/** Semaphore and reader-writer keys: one key can be either kind over a history. */
const MULTI_KEYS = ["s", "t"];
const VALUES = ["v0", "v1", "v2"];

/** A table as the simulator builds one (TTLs of 1 s clear the floor of 100 ms elections). */
function newTable(): LockStateMachine {
  return new LockStateMachine({ limits: { electionTimeoutMs: 100 } });
}

/**
 * A random command against `table`'s current state, from few keys and values so that two
 * histories often reach the same state: acquires (some waiting), releases, expiries and refreshes
 * with the right or a wrong token, cancels, semaphore and reader-writer acquires, setLimits.
 */
function randomCommand(rng: Prng, table: LockStateMachine, requestId: number): LockCommand {
  const pick = <T>(items: readonly T[]): T => items[rng.int(0, items.length - 1)]!;
  const key = pick(KEYS);
  const value = pick(VALUES);
  const held = table.keyState(key);
  const token = held !== undefined && rng.int(0, 3) > 0 ? held.token : 1;
  const acquire = (): LockCommand => {
    const waitMs = rng.int(0, 1) * 500;
    const lockDelayMs = rng.int(0, 1) * 300;
    return { type: "acquire", key, value, ttlMs: 1_000, waitMs, lockDelayMs, requestId };
  };
  switch (rng.int(0, 9)) {
    case 0:
      return { type: "release", key, value: held?.holder ?? value, token };
    case 1:
      return { type: "expire", key, token, leaseRevision: held?.leaseRevision ?? 1 };
    case 2:
      return { type: "refresh", key, value: held?.holder ?? value, token, ttlMs: 2_000 };
    case 3:
      return { type: "cancelWait", key, value };
    case 4:
      return { type: "clearDelay", key, delayRevision: held?.delayRevision ?? 1 };
    case 5: {
      const count = rng.int(1, 2);
      const base = {
        type: "semaphoreAcquire" as const,
        key: pick(MULTI_KEYS),
        value,
        ttlMs: 1_000,
      };
      return { ...base, waitMs: rng.int(0, 1) * 500, requestId, permits: 3, count };
    }
    case 6: {
      const mode = rng.int(0, 1) === 0 ? ("read" as const) : ("write" as const);
      const base = { type: "rwAcquire" as const, key: pick(MULTI_KEYS), value, ttlMs: 1_000 };
      return { ...base, waitMs: 500, requestId, mode };
    }
    case 7: {
      const multiKey = pick(MULTI_KEYS);
      const holder = table.semaphoreState(multiKey)?.holders[0];
      if (holder === undefined) return { type: "cancelWait", key: multiKey, value };
      const { token: permitToken, leaseRevision } = holder;
      const expire = { type: "permitExpire" as const, key: multiKey, value: holder.value };
      return { ...expire, token: permitToken, leaseRevision };
    }
    case 8: {
      const limits = newTable().limitsProposal()!;
      if (rng.int(0, 3) === 0) return { ...limits, ttlMsMax: limits.ttlMsMax - rng.int(0, 1) };
      return acquire();
    }
    default:
      return acquire();
  }
}

function variantOf(rng: Prng, command: LockCommand): LockCommand {
  switch (command.type) {
    case "acquire":
      return rng.int(0, 1) === 0
        ? { ...command, lockDelayMs: command.lockDelayMs + 100 }
        : { ...command, ttlMs: command.ttlMs + 1 };
    case "semaphoreAcquire":
      return rng.int(0, 1) === 0
        ? { ...command, permits: command.permits + 1 }
        : { ...command, requestId: command.requestId + 1 };
    case "rwAcquire":
      return { ...command, mode: command.mode === "read" ? "write" : "read" };
    case "refresh":
      return { ...command, ttlMs: command.ttlMs + 1 };
    case "setLimits":
      return { ...command, ttlMsMax: command.ttlMsMax - 2 };
    default:
      return { type: "cancelWait", key: command.key, value: "v0" };
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

// The simulator's state-machine-safety check compares this digest, not the snapshot's bytes, at
// every applied batch: it must be exactly as discerning as the snapshot.
describe("lock table digest", () => {
  it("is equal for equal tables, however each got its state", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Prng(seed);
      const applied = newTable();
      let restored: LockStateMachine | null = null;
      const restoreAt = rng.int(1, 150);
      for (let index = 1; index <= 200; index++) {
        const command = randomCommand(rng, applied, index);
        applied.apply(index, command);
        restored?.apply(index, command);
        if (index === restoreAt) {
          // Restored keys are inserted in key order, not the applying table's order.
          restored = newTable();
          restored.restoreSnapshot(applied.snapshot());
        }
        if (restored !== null) {
          expect(hex(restored.snapshot()), `seed ${seed} at ${index}`).toBe(
            hex(applied.snapshot()),
          );
          expect(lockTableDigest(restored), `seed ${seed} at ${index}`).toBe(
            lockTableDigest(applied),
          );
        }
      }
    }
  });

  it("differs exactly where the snapshots differ", () => {
    // Two tables apply the same commands but for a few steps where one applies another command:
    // their states part, often in one field only, and often meet again.
    let reconverged = 0;
    let parted = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Prng(seed);
      const one = newTable();
      const other = newTable();
      let diverged = false;
      for (let index = 1; index <= 100; index++) {
        const command = randomCommand(rng, one, index);
        one.apply(index, command);
        const differs = rng.int(0, 9) === 0;
        const otherCommand =
          rng.int(0, 1) === 0 ? variantOf(rng, command) : randomCommand(rng, other, index);
        other.apply(index, differs ? otherCommand : command);
        diverged ||= differs;
        const sameBytes = hex(one.snapshot()) === hex(other.snapshot());
        const sameDigest = lockTableDigest(one) === lockTableDigest(other);
        expect(sameDigest, `seed ${seed} at ${index}`).toBe(sameBytes);
        if (!diverged) continue;
        if (sameBytes) reconverged++;
        else parted++;
      }
    }
    // Both sides of the equivalence were exercised after the histories parted.
    expect(reconverged).toBeGreaterThan(100);
    expect(parted).toBeGreaterThan(500);
  });

  it("tells apart tables that differ in any one stored field", () => {
    // A script that leaves a lock holder with a waiter, a lock delay, a semaphore holder with a
    // waiter, a reader and replicated limits; each variant nudges one field of one command.
    const rwPermits = newTable().limits.semaphorePermitsMax;
    const limits = newTable().limitsProposal()!;
    const script: LockCommand[] = [
      {
        type: "acquire",
        key: "a",
        value: "v0",
        ttlMs: 1_000,
        waitMs: 0,
        lockDelayMs: 300,
        requestId: 1,
      },
      {
        type: "acquire",
        key: "a",
        value: "v1",
        ttlMs: 1_000,
        waitMs: 500,
        lockDelayMs: 200,
        requestId: 2,
      },
      {
        type: "semaphoreAcquire",
        key: "s",
        value: "v0",
        ttlMs: 1_000,
        waitMs: 0,
        requestId: 3,
        permits: 2,
        count: 2,
      },
      {
        type: "semaphoreAcquire",
        key: "s",
        value: "v1",
        ttlMs: 1_000,
        waitMs: 500,
        requestId: 4,
        permits: 2,
        count: 1,
      },
      {
        type: "rwAcquire",
        key: "t",
        value: "v0",
        ttlMs: 1_000,
        waitMs: 0,
        requestId: 5,
        mode: "read",
      },
      limits,
      {
        type: "acquire",
        key: "b",
        value: "v0",
        ttlMs: 1_000,
        waitMs: 0,
        lockDelayMs: 300,
        requestId: 7,
      },
      { type: "expire", key: "b", token: 7, leaseRevision: 7 },
    ];
    const nudges: Array<[number, Partial<Record<string, unknown>>]> = [
      [0, { ttlMs: 1_001 }],
      [0, { lockDelayMs: 301 }],
      [1, { ttlMs: 1_001 }],
      [1, { waitMs: 501 }],
      [1, { lockDelayMs: 201 }],
      [1, { requestId: 3 }],
      [2, { ttlMs: 1_001 }],
      [2, { permits: 3 }],
      [3, { ttlMs: 1_001 }],
      [3, { waitMs: 501 }],
      [3, { requestId: 5 }],
      [4, { ttlMs: 1_001 }],
      // The same slots and holder as a semaphore: only the kind differs.
      [4, { type: "semaphoreAcquire", permits: rwPermits, count: 1 }],
      [5, { ttlMsMax: limits.ttlMsMax - 1 }],
      [6, { lockDelayMs: 301 }],
    ];
    const run = (commands: readonly LockCommand[], lastIndex = commands.length) => {
      const table = newTable();
      commands.forEach((command, i) => table.apply(i + 1, command));
      if (lastIndex > commands.length) table.markApplied(lastIndex);
      return table;
    };
    const base = run(script);
    const tables = [base, run(script, script.length + 1), run(script.slice(0, 5))];
    for (const [at, nudge] of nudges) {
      const commands = [...script];
      commands[at] = { ...script[at]!, ...nudge } as LockCommand;
      tables.push(run(commands));
    }
    const snapshots = tables.map((table) => hex(table.snapshot()));
    expect(new Set(snapshots).size, "every variant changes the stored state").toBe(tables.length);
    const digests = tables.map(lockTableDigest);
    expect(new Set(digests).size).toBe(tables.length);
  });
});
