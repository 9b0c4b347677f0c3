import type { PlantedLockBugs } from "@dlock/server/internal";
import { withPlantedLockBugs } from "@dlock/server/internal";
import fc from "fast-check";
import { expect } from "vitest";
import type { AcquireCommand, LockCommand, LockLimits, LockResult } from "@dlock/server/lock";
import { LockStateMachine, decodeCommand, encodeCommand, permitGrantsOf } from "@dlock/server/lock";

/** Election timeout 100 ms → ttlMsMin 500. */
export const TEST_LIMITS: LockLimits = {
  electionTimeoutMs: 100,
  ttlMsMax: 60_000,
  waitMsMax: 60_000,
  waitersPerKeyMax: 4,
  locksMax: 8,
  keyBytesMax: 16,
  valueBytesMax: 16,
  lockDelayMsMax: 5_000,
};

/** A state machine plus an index counter, so tests read as a sequence of entries. */
export class Log {
  readonly machine: LockStateMachine;
  index = 0;
  constructor(limits: LockLimits = TEST_LIMITS, plantedBugs?: PlantedLockBugs) {
    this.machine = new LockStateMachine(withPlantedLockBugs({ limits }, plantedBugs));
  }
  acquire(key: string, value: string, options: Partial<AcquireCommand> = {}): LockResult {
    return this.machine.apply(++this.index, {
      type: "acquire",
      key,
      value,
      ttlMs: 1000,
      waitMs: 0,
      lockDelayMs: 0,
      requestId: this.index,
      ...options,
    });
  }
  refresh(key: string, value: string, token: number, ttlMs = 1000): LockResult {
    return this.machine.apply(++this.index, { type: "refresh", key, value, token, ttlMs });
  }
  release(key: string, value: string, token: number): LockResult {
    return this.machine.apply(++this.index, { type: "release", key, value, token });
  }
  expire(key: string, token: number, leaseRevision: number): LockResult {
    return this.machine.apply(++this.index, { type: "expire", key, token, leaseRevision });
  }
  waiterExpire(key: string, value: string, waiterRevision: number): LockResult {
    return this.machine.apply(++this.index, { type: "waiterExpire", key, value, waiterRevision });
  }
  cancelWait(key: string, value: string): LockResult {
    return this.machine.apply(++this.index, { type: "cancelWait", key, value });
  }
  clearDelay(key: string, delayRevision: number): LockResult {
    return this.machine.apply(++this.index, { type: "clearDelay", key, delayRevision });
  }
}

/** The seed of this run's property tests: FC_SEED to replay, printed so a failure can be replayed. */
export function propertySeed(name: string): number {
  const fromEnv = process.env.FC_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : (Date.now() ^ (process.pid << 8)) | 0;
  console.log(`[${name}] fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  return seed;
}

/**
 * Applies random commands to a state machine the way a host would (log codec round-trip, dirty
 * records stored), remembering the grants and waiters it saw for later commands to name, and
 * checking that every new grant's fencing token is its entry's index, never below an earlier one.
 */
export class RandomRun {
  readonly machine: LockStateMachine;
  readonly stored = new Map<string, Uint8Array>();
  /** [key, value, token, leaseRevision] of every grant and refresh seen. */
  readonly tokens: Array<[string, string, number, number]> = [];
  /** [key, value, waiterRevision] of every queued result seen. */
  readonly waiterRevisions: Array<[string, string, number]> = [];
  private readonly lastGrantToken = new Map<string, number>();
  index = 0;

  constructor(readonly limits: LockLimits) {
    this.machine = new LockStateMachine({ limits });
  }

  apply(command: LockCommand): LockResult {
    this.index++;
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
    const result = this.machine.apply(this.index, command);
    const granted: Array<[string, number, number]> = [];
    if (result.type === "granted" && !result.renewed)
      granted.push([result.value, result.token, result.leaseRevision]);
    if (result.type === "granted" || result.type === "refreshed")
      this.tokens.push([result.key, result.value, result.token, result.leaseRevision]);
    if (result.type === "queued")
      this.waiterRevisions.push([result.key, result.value, result.waiterRevision]);
    for (const g of permitGrantsOf(result)) granted.push([g.value, g.token, g.leaseRevision]);
    for (const [value, token, leaseRevision] of granted) {
      this.tokens.push([result.key, value, token, leaseRevision]);
      expect(token).toBe(this.index);
      expect(token).toBeGreaterThanOrEqual(this.lastGrantToken.get(result.key) ?? 0);
      this.lastGrantToken.set(result.key, token);
    }
    for (const key of this.machine.takeDirtyKeys()) {
      const bytes = this.machine.encodeLockRecord(key);
      if (bytes === null) this.stored.delete(key);
      else this.stored.set(key, bytes);
    }
    return result;
  }

  /** A snapshot and the stored records both rebuild the same table. */
  checkPersistence(): void {
    const fromSnapshot = new LockStateMachine({ limits: this.limits });
    fromSnapshot.restoreSnapshot(this.machine.snapshot());
    expect(fromSnapshot.snapshot()).toEqual(this.machine.snapshot());
    const fromRecords = new LockStateMachine({ limits: this.limits });
    fromRecords.loadRecords(this.machine.appliedIndex, this.stored.values());
    expect(fromRecords.stateHash()).toBe(this.machine.stateHash());
  }
}

/** One random step: a command kind, a key and a value from small sets, and numbers to pick with. */
export interface RandomOp {
  kind: number;
  key: string;
  value: string;
  n: number;
  /** Picks one of the grants or waiters seen so far. */
  pick: number;
}

const RANDOM_VALUES = ["a", "b", "c", "d", "e"];

/**
 * Runs 300 random sequences of up to 100 steps (kinds 0..kinds-1 over `keys`) through a
 * RandomRun, then checks persistence. The seed is printed; FC_SEED replays it.
 */
export function checkRandomRuns(
  name: string,
  options: { limits: LockLimits; keys: string[]; kinds: number },
  step: (run: RandomRun, op: RandomOp) => void,
): void {
  const seed = propertySeed(name);
  const op: fc.Arbitrary<RandomOp> = fc.record({
    kind: fc.nat(options.kinds - 1),
    key: fc.constantFrom(...options.keys),
    value: fc.constantFrom(...RANDOM_VALUES),
    n: fc.nat(3),
    pick: fc.nat(8),
  });
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 100 }), (ops) => {
      const run = new RandomRun(options.limits);
      for (const o of ops) step(run, o);
      run.checkPersistence();
    }),
    { seed, numRuns: 300 },
  );
}

/** A command naming one of the grants `run` saw (a permitExpire), else a cancelWait. */
export function pickedPermitExpire(run: RandomRun, op: RandomOp): LockCommand {
  const grant = run.tokens[op.pick % Math.max(1, run.tokens.length)];
  if (grant === undefined) return { type: "cancelWait", key: op.key, value: op.value };
  const [key, value, token, leaseRevision] = grant;
  return { type: "permitExpire", key, value, token, leaseRevision };
}

/** A command naming one of the waiters `run` saw (a waiterExpire), else a cancelWait. */
export function pickedWaiterExpire(run: RandomRun, op: RandomOp): LockCommand {
  const w = run.waiterRevisions[op.pick % Math.max(1, run.waiterRevisions.length)];
  if (w === undefined) return { type: "cancelWait", key: op.key, value: op.value };
  return { type: "waiterExpire", key: w[0], value: w[1], waiterRevision: w[2] };
}
