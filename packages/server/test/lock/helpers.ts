import type { PlantedLockBugs } from "@dlock/server/internal";
import { withPlantedLockBugs } from "@dlock/server/internal";
import type { AcquireCommand, LockLimits, LockResult } from "@dlock/server/lock";
import { LockStateMachine } from "@dlock/server/lock";

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
