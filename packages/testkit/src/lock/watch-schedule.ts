// A seeded schedule of the watch protocol: one committed log of lock commands, several nodes that
// apply it at their own pace (a new leader may lag the old one), and a watcher that long-polls
// whichever node it is connected to, resumes from the last revision + 1 on another node (a
// reconnect or a leader change) and lists again when told its revision is compacted. The checker
// compares what the watcher got with the committed events: same order, no gap, no duplicate.
import type { Entry } from "@dlock/raft";
import { WatchRevisionCompactedError } from "@dlock/protocol";
import type { WatchEvent } from "@dlock/protocol";
import { WatchService, withPlantedWatchBugs } from "@dlock/server/internal";
import type { PlantedWatchBugs } from "@dlock/server/internal";
import { LockStateMachine, lockEventsOf } from "@dlock/server/lock";
import type { LockCommand, LockEvent, LockLimits, LockResult } from "@dlock/server/lock";
import { Prng } from "../prng.js";

const LIMITS: LockLimits = {
  electionTimeoutMs: 100,
  ttlMsMax: 60_000,
  waitMsMax: 60_000,
  waitersPerKeyMax: 4,
  locksMax: 16,
  keyBytesMax: 16,
  valueBytesMax: 16,
  lockDelayMsMax: 5_000,
};
const KEYS = ["a/1", "a/2", "b/1"];
const VALUES = ["x", "y", "z"];
const NODES = 3;

export interface WatchScheduleOptions {
  entries?: number;
  steps?: number;
  plantedBugs?: PlantedWatchBugs;
}

export interface WatchViolation {
  seed: number;
  message: string;
}

/** A committed log whose commands change keys often (grants, queues, handoffs, expiries). */
function committedLog(
  rng: Prng,
  entries: number,
): { commands: LockCommand[]; results: LockResult[] } {
  const table = new LockStateMachine({ limits: LIMITS });
  const commands: LockCommand[] = [];
  const results: LockResult[] = [];
  for (let index = 1; index <= entries; index++) {
    const key = rng.pick(KEYS);
    const value = rng.pick(VALUES);
    const state = table.keyState(key);
    let command: LockCommand;
    const roll = rng.int(0, 9);
    if (roll < 4) {
      command = {
        type: "acquire",
        key,
        value,
        ttlMs: 1000,
        waitMs: rng.chance(0.5) ? 5000 : 0,
        lockDelayMs: 0,
        requestId: index,
      };
    } else if (roll < 7) {
      command = { type: "release", key, value: state?.holder ?? value, token: 0 };
    } else if (roll < 8) {
      command = { type: "cancelWait", key, value };
    } else {
      command = {
        type: "expire",
        key,
        token: state?.token ?? 0,
        leaseRevision: state?.leaseRevision ?? 0,
      };
    }
    commands.push(command);
    results.push(table.apply(index, command));
  }
  return { commands, results };
}

/** Runs one schedule; the violations found (none for a correct server). */
export async function runWatchSchedule(
  seed: number,
  options: WatchScheduleOptions = {},
): Promise<WatchViolation[]> {
  const rng = new Prng(seed);
  const { commands, results } = committedLog(rng, options.entries ?? 60);
  const prefix = rng.pick(["", "a/", "a/1"]);
  const matches = (key: string): boolean => key.startsWith(prefix);
  const committed: LockEvent[] = [];
  results.forEach((result, i) => committed.push(...lockEventsOf(i + 1, result)));

  const nodes = Array.from({ length: NODES }, () => {
    const table = new LockStateMachine({ limits: LIMITS });
    const timers = { set: () => null, clear: () => undefined };
    const watch = { historyEventsMax: rng.int(3, 40) };
    const service = new WatchService(
      withPlantedWatchBugs({ table, timers, watch }, options.plantedBugs),
    );
    return { table, service, applied: 0 };
  });
  const advance = (node: (typeof nodes)[number], count: number): void => {
    const entries: Entry[] = [];
    const applied: LockResult[] = [];
    while (count-- > 0 && node.applied < commands.length) {
      const index = ++node.applied;
      entries.push({ kind: "normal", index, term: 1, data: new Uint8Array() } as Entry);
      applied.push(node.table.apply(index, commands[index - 1]!));
    }
    if (entries.length > 0) node.service.onApplied(entries, applied);
  };

  const violations: WatchViolation[] = [];
  let node = rng.pick(nodes);
  let segmentFrom = 1;
  let from = 1;
  let delivered: WatchEvent[] = [];
  const checkSegment = (): void => {
    const expected = committed.filter(
      (e) => matches(e.key) && e.revision >= segmentFrom && e.revision < from,
    );
    const shape = (e: LockEvent | WatchEvent): string =>
      `${e.revision}:${e.type}:${e.key}:${e.value}:${e.token}`;
    const got = delivered.map(shape);
    const want = expected.map(shape);
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      if (got[i] !== want[i]) {
        const kind =
          got[i] === undefined
            ? "gap"
            : want[i] === undefined
              ? "extra"
              : got.indexOf(want[i]!) === -1
                ? "gap"
                : "duplicate or reorder";
        violations.push({
          seed,
          message: `watch of "${prefix}" from ${segmentFrom}: ${kind} at delivered #${i}: got ${got[i] ?? "nothing"}, committed order has ${want[i] ?? "nothing"}`,
        });
        return;
      }
    }
  };

  for (let step = 0; step < (options.steps ?? 150); step++) {
    const roll = rng.int(0, 9);
    if (roll < 4) {
      advance(rng.pick(nodes), rng.int(1, 6));
    } else if (roll < 5) {
      node = rng.pick(nodes); // reconnect, or the leader changed
    } else {
      const request = {
        type: "watch" as const,
        id: 1,
        key: prefix,
        prefix: true,
        fromRevision: from,
        waitMs: 0,
        eventsMax: rng.int(1, 4),
      };
      try {
        const answer = await node.service.watch(request, 1);
        delivered.push(...answer.events);
        if (answer.revision + 1 < from) {
          violations.push({
            seed,
            message: `an answer went back: revision ${answer.revision} after asking from ${from}`,
          });
          break;
        }
        from = answer.revision + 1;
      } catch (error) {
        if (!(error instanceof WatchRevisionCompactedError)) throw error;
        // List, then watch from the list's revision + 1: a new segment.
        checkSegment();
        segmentFrom = from = node.table.appliedIndex + 1;
        delivered = [];
      }
    }
    if (violations.length > 0) break;
  }
  if (violations.length === 0) checkSegment();
  return violations;
}
