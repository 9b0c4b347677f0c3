import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "@dlock/protocol";
import type { PlantedLockBugs } from "@dlock/server/internal";
import { withPlantedLockBugs } from "@dlock/server/internal";
import type { LeaseCommand, LockCommand, LockResult } from "@dlock/server/lock";
import { LeaseManager, LockStateMachine } from "@dlock/server/lock";
import { TEST_LIMITS, propertySeed } from "./helpers.js";

/** A table and a lease manager wired as the server wires them, with a fake monotonic clock. */
class Node {
  readonly machine: LockStateMachine;
  readonly leases: LeaseManager;
  index = 0;
  constructor(
    options: {
      expireRetryMs?: number;
      expireBatchMax?: number;
      plantedBugs?: PlantedLockBugs;
    } = {},
  ) {
    const { plantedBugs, ...leaseOptions } = options;
    this.machine = new LockStateMachine(withPlantedLockBugs({ limits: TEST_LIMITS }, plantedBugs));
    this.leases = new LeaseManager(withPlantedLockBugs(leaseOptions, plantedBugs));
  }
  apply(command: LockCommand, nowMs: number): LockResult {
    const result = this.machine.apply(++this.index, command);
    this.leases.onApplied(result, nowMs);
    return result;
  }
  acquire(
    key: string,
    value: string,
    nowMs: number,
    extra: { ttlMs?: number; waitMs?: number; lockDelayMs?: number } = {},
  ): LockResult {
    return this.apply(
      {
        type: "acquire",
        key,
        value,
        ttlMs: 1000,
        waitMs: 0,
        lockDelayMs: 0,
        requestId: 0,
        ...extra,
      },
      nowMs,
    );
  }
}

describe("LeaseManager", () => {
  it("proposes an expiry only once the deadline (apply + ttl) is reached, naming token and revision", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 1000); // index 1
    expect(node.leases.nextDueMs()).toBe(2000);
    expect(node.leases.dueExpiries(1999)).toEqual([]);
    expect(node.leases.remainingMs("k", 1500)).toBe(500);
    const due = node.leases.dueExpiries(2000);
    expect(due).toEqual([{ type: "expire", key: "k", token: 1, leaseRevision: 1 }]);
    expect(node.apply(due[0], 2001)).toMatchObject({ type: "expired" });
    expect(node.leases.trackedCount).toEqual({ locks: 0, waiters: 0, delays: 0 });
    expect(node.leases.nextDueMs()).toBeNull();
  });

  it("a refresh moves the deadline; a same-value acquire too", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 1000);
    node.apply({ type: "refresh", key: "k", value: "a", token: 1, ttlMs: 2000 }, 1500); // index 2
    expect(node.leases.dueExpiries(3499)).toEqual([]);
    node.acquire("k", "a", 3000); // index 3
    expect(node.leases.dueExpiries(3999)).toEqual([]);
    expect(node.leases.dueExpiries(4000)).toEqual([
      { type: "expire", key: "k", token: 1, leaseRevision: 3 },
    ]);
  });

  it("an expiry racing a refresh: the expire is stale, the lock stays, the new deadline is timed", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0);
    const [expire] = node.leases.dueExpiries(1000);
    node.apply({ type: "refresh", key: "k", value: "a", token: 1, ttlMs: 1000 }, 1001); // committed first
    expect(node.apply(expire, 1002)).toMatchObject({ type: "stale" });
    expect(node.machine.get("k")).toMatchObject({ held: true, leaseRevision: 2 });
    expect(node.leases.dueExpiries(2000)).toEqual([]);
    expect(node.leases.dueExpiries(2001)).toEqual([
      { type: "expire", key: "k", token: 1, leaseRevision: 2 },
    ]);
  });

  it("does not re-propose a pending expiry, retries it after expireRetryMs, and at once after proposalFailed", () => {
    const node = new Node({ expireRetryMs: 300 });
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0);
    const first = node.leases.dueExpiries(1000);
    expect(first).toHaveLength(1);
    expect(node.leases.dueExpiries(1299)).toEqual([]);
    expect(node.leases.dueExpiries(1300)).toEqual(first); // the proposal was lost
    node.leases.proposalFailed(first[0]);
    expect(node.leases.dueExpiries(1301)).toEqual(first);
    node.leases.proposalFailed({ type: "expire", key: "k", token: 1, leaseRevision: 99 }); // not ours: ignored
    expect(node.leases.dueExpiries(1302)).toEqual([]);
  });

  it("a pending expiry keeps the lease's deadline: remaining time, waiter deadline, failure after retries", () => {
    const node = new Node({ expireRetryMs: 300 });
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0); // lease to 1000
    node.acquire("w", "a", 0, { ttlMs: 5000 });
    node.acquire("w", "b", 100, { waitMs: 400 }); // queued: its wait ends at 500
    expect(node.leases.waiterDeadlineMs("w", "b")).toBe(500);
    const due = node.leases.dueExpiries(1000);
    expect(due).toEqual([
      { type: "waiterExpire", key: "w", value: "b", waiterRevision: 3 },
      { type: "expire", key: "k", token: 1, leaseRevision: 1 },
    ]);
    // Pending: due again at 1300 (the retry), but the leases still end at 500 and 1000.
    expect(node.leases.nextDueMs()).toBe(1300);
    expect(node.leases.waiterDeadlineMs("w", "b")).toBe(500);
    expect(node.leases.remainingMs("k", 900)).toBe(100);
    const retried = node.leases.dueExpiries(1300); // both at 1300: no particular order
    expect(retried).toHaveLength(2);
    expect(retried).toEqual(expect.arrayContaining(due));
    expect(node.leases.remainingMs("k", 900)).toBe(100);
    node.leases.proposalFailed(due[1]!);
    expect(node.leases.nextDueMs()).toBe(1000);
    expect(node.leases.dueExpiries(1001)).toEqual([due[1]]);
    // Applying the waiter's expiry forgets it, pending or not.
    node.apply(due[0]!, 1002);
    expect(node.leases.waiterDeadlineMs("w", "b")).toBeNull();
    expect(node.leases.trackedCount).toEqual({ locks: 2, waiters: 0, delays: 0 });
  });
  it("a new leader gives every lease, waiter lease and lock delay its full length from the election", () => {
    const node = new Node();
    // Applied as a follower: nothing is timed.
    node.acquire("k", "a", 0);
    node.acquire("k", "b", 0, { waitMs: 5000 });
    node.acquire("d", "a", 0, { lockDelayMs: 700 });
    node.apply({ type: "expire", key: "d", token: 3, leaseRevision: 3 }, 0); // d enters its delay
    expect(node.leases.trackedCount).toEqual({ locks: 0, waiters: 0, delays: 0 });
    expect(node.leases.dueExpiries(1e9)).toEqual([]);
    node.leases.becomeLeader(50_000, node.machine);
    expect(node.leases.trackedCount).toEqual({ locks: 1, waiters: 1, delays: 1 });
    expect(node.leases.dueExpiries(50_699)).toEqual([]);
    expect(node.leases.dueExpiries(50_700)).toEqual([
      { type: "clearDelay", key: "d", delayRevision: 4 },
    ]);
    expect(node.leases.dueExpiries(50_999)).toEqual([]);
    const due = node.leases.dueExpiries(51_000);
    expect(due).toHaveLength(2);
    expect(due).toEqual(
      expect.arrayContaining([
        { type: "expire", key: "k", token: 1, leaseRevision: 1 },
        { type: "waiterExpire", key: "k", value: "b", waiterRevision: 2 },
      ]),
    );
  });

  it("adoption in steps times what becomeLeader times, and keeps what entries applied meanwhile timed", () => {
    const node = new Node({ expireRetryMs: 1_000_000 }); // handed-out expiries stay pending
    node.acquire("a", "x", 0); // 1
    node.acquire("a", "y", 0, { waitMs: 5000 }); // 2
    node.acquire("b", "x", 0); // 3
    node.acquire("c", "x", 0, { lockDelayMs: 700 }); // 4
    node.apply({ type: "expire", key: "c", token: 4, leaseRevision: 4 }, 0); // 5: c in delay
    node.acquire("e", "x", 0); // 6
    node.leases.startAdoption(50_000, node.machine);
    expect(node.leases.adoptStep(1)).toBe(false);
    // One key timed, whichever the table visits first.
    const firstKey = node.machine.keys().next().value;
    const timedByKey: Record<string, { locks: number; waiters: number; delays: number }> = {
      a: { locks: 1, waiters: 1, delays: 0 },
      b: { locks: 1, waiters: 0, delays: 0 },
      c: { locks: 0, waiters: 0, delays: 1 },
      e: { locks: 1, waiters: 0, delays: 0 },
    };
    expect(node.leases.trackedCount).toEqual(timedByKey[firstKey as string]);
    // Applied while adopting: b refreshed later than the election (kept), e released.
    node.apply({ type: "refresh", key: "b", value: "x", token: 3, ttlMs: 3000 }, 60_000); // 7
    node.apply({ type: "release", key: "e", value: "x", token: 6 }, 60_000); // 8
    expect(node.leases.adoptStep(1)).toBe(false);
    expect(node.leases.adoptStep(5)).toBe(true);
    expect(node.leases.adoptStep(5)).toBe(true);
    expect(node.leases.trackedCount).toEqual({ locks: 2, waiters: 1, delays: 1 });
    expect(node.leases.dueExpiries(50_700)).toEqual([
      { type: "clearDelay", key: "c", delayRevision: 5 },
    ]);
    expect(node.leases.dueExpiries(51_000)).toEqual(
      expect.arrayContaining([
        { type: "expire", key: "a", token: 1, leaseRevision: 1 },
        { type: "waiterExpire", key: "a", value: "y", waiterRevision: 2 },
      ]),
    );
    expect(node.leases.dueExpiries(62_999)).toEqual([]);
    expect(node.leases.dueExpiries(63_000)).toEqual([
      { type: "expire", key: "b", token: 3, leaseRevision: 7 },
    ]);
    expect(node.leases.nextDueMs()).toBeGreaterThan(63_000);
  });

  it("an adoption ends with leadership: a follower's steps time nothing", () => {
    const node = new Node();
    node.acquire("a", "x", 0);
    node.acquire("b", "x", 0);
    node.leases.startAdoption(0, node.machine);
    node.leases.becomeFollower();
    expect(node.leases.adoptStep(10)).toBe(true);
    expect(node.leases.trackedCount).toEqual({ locks: 0, waiters: 0, delays: 0 });
  });

  it("planted bug noLeaseExtensionOnElection: existing leases are due at the election moment", () => {
    const node = new Node({ plantedBugs: { noLeaseExtensionOnElection: true } });
    node.acquire("k", "a", 0);
    node.leases.becomeLeader(100, node.machine);
    expect(node.leases.dueExpiries(100)).toEqual([
      { type: "expire", key: "k", token: 1, leaseRevision: 1 },
    ]);
  });

  it("followers and former leaders track and propose nothing; pending expiries are forgotten", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0);
    expect(node.leases.dueExpiries(1000)).toHaveLength(1);
    node.leases.becomeFollower();
    expect(node.leases.isLeader).toBe(false);
    expect(node.leases.dueExpiries(5000)).toEqual([]);
    node.acquire("k", "a", 6000); // ignored on a follower
    expect(node.leases.trackedCount.locks).toBe(0);
    node.leases.becomeLeader(7000, node.machine); // leader again: full TTL, nothing pending
    expect(node.leases.dueExpiries(7999)).toEqual([]);
    expect(node.leases.dueExpiries(8000)).toHaveLength(1);
  });

  it("batches: at most maxBatch (and expireBatchMax) per call, earliest deadline first", () => {
    const node = new Node({ expireBatchMax: 4 });
    node.leases.becomeLeader(0, node.machine);
    for (let i = 0; i < 7; i++) node.acquire(`k${i}`, "a", 7 - i); // k6 is due first
    expect(node.leases.dueExpiries(2000, 3).map((c) => c.key)).toEqual(["k6", "k5", "k4"]);
    expect(node.leases.dueExpiries(2000, 100).map((c) => c.key)).toEqual(["k3", "k2", "k1", "k0"]);
    expect(node.leases.dueExpiries(2000)).toEqual([]);
  });

  it("waiter leases: min(waitMs, ttlMs) from the last acquire; a granted waiter gets a fresh lock lease", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0); // 1
    node.acquire("k", "b", 100, { waitMs: 300 }); // 2: waiter lease until 400
    node.acquire("k", "c", 100, { waitMs: 9000 }); // 3: until 1100 (ttl)
    expect(node.leases.waiterDeadlineMs("k", "b")).toBe(400);
    node.acquire("k", "b", 350, { waitMs: 300 }); // keepalive, 4: until 650
    expect(node.leases.dueExpiries(649)).toEqual([]);
    expect(node.leases.dueExpiries(650)).toEqual([
      { type: "waiterExpire", key: "k", value: "b", waiterRevision: 4 },
    ]);
    // Before that expiry commits, the holder releases: b is granted and its lease starts now.
    expect(node.apply({ type: "release", key: "k", value: "a", token: 1 }, 700)).toMatchObject({
      next: { value: "b", token: 5 },
    });
    expect(node.leases.waiterDeadlineMs("k", "b")).toBeNull();
    expect(node.leases.remainingMs("k", 700)).toBe(1000);
    expect(
      node.apply({ type: "waiterExpire", key: "k", value: "b", waiterRevision: 4 }, 710),
    ).toMatchObject({
      type: "stale",
    });
    expect(node.machine.get("k")).toMatchObject({ value: "b", fencingToken: 5 });
    expect(node.leases.dueExpiries(1099)).toEqual([]);
    expect(node.leases.dueExpiries(1100)).toEqual([
      { type: "waiterExpire", key: "k", value: "c", waiterRevision: 3 },
    ]);
    expect(node.leases.dueExpiries(1700)).toEqual([
      { type: "expire", key: "k", token: 5, leaseRevision: 5 },
    ]);
  });

  it("planted bug grantWaiterWithoutLeaseCheck: the granted waiter keeps its (past) queue deadline", () => {
    const node = new Node({ plantedBugs: { grantWaiterWithoutLeaseCheck: true } });
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0);
    node.acquire("k", "b", 100, { waitMs: 300 }); // queue lease until 400
    node.apply({ type: "release", key: "k", value: "a", token: 1 }, 700);
    expect(node.leases.remainingMs("k", 700)).toBe(0);
    expect(node.leases.dueExpiries(700)).toEqual([
      { type: "expire", key: "k", token: 3, leaseRevision: 3 },
    ]);
  });

  it("lock delay: clearDelay due lockDelayMs after the expiry applied; it grants the head waiter a fresh lease", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0, { lockDelayMs: 500 }); // 1
    node.acquire("k", "b", 10, { waitMs: 60_000 }); // 2
    node.acquire("k", "b", 900, { waitMs: 60_000 }); // 3: keepalive
    const [expire] = node.leases.dueExpiries(1000);
    expect(node.apply(expire, 1010)).toMatchObject({ type: "expired", delayRevision: 4 });
    expect(node.leases.dueExpiries(1509)).toEqual([]);
    const [clear] = node.leases.dueExpiries(1510);
    expect(clear).toEqual({ type: "clearDelay", key: "k", delayRevision: 4 });
    expect(node.apply(clear, 1520)).toMatchObject({
      type: "delayCleared",
      next: { value: "b", token: 5 },
    });
    expect(node.leases.remainingMs("k", 1520)).toBe(1000);
    expect(node.leases.trackedCount).toEqual({ locks: 1, waiters: 0, delays: 0 });
  });

  it("a stale lease command for a revision it still times drops that timer (the table wins)", () => {
    const node = new Node();
    node.leases.becomeLeader(0, node.machine);
    node.acquire("k", "a", 0);
    node.acquire("k", "b", 0, { waitMs: 500 }); // 2
    node.acquire("k", "b", 0); // waitMs 0 while queued: leaves the queue (busy, dequeued)
    expect(node.leases.trackedCount.waiters).toBe(0);
    expect(node.leases.dueExpiries(10_000).map((c) => c.type)).toEqual(["expire"]);
  });

  it("validates its options", () => {
    expect(() => new LeaseManager({ expireRetryMs: 0 })).toThrow(ConfigError);
    expect(() => new LeaseManager({ expireBatchMax: 1.5 })).toThrow(
      expect.objectContaining({ option: "expireBatchMax" }),
    );
  });
});

// ---- randomized: no lease ever ends before its time; every lease ends eventually ----------------

type Step =
  | { kind: "acquire"; key: number; value: number; ttlMs: number; waitMs: number }
  | { kind: "refresh"; key: number; value: number }
  | { kind: "release"; key: number; value: number }
  | { kind: "advance"; ms: number }
  | { kind: "propose" }
  | { kind: "commit"; count: number; drop: boolean }
  | { kind: "election" };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("acquire" as const),
    key: fc.nat(2),
    value: fc.nat(3),
    ttlMs: fc.constantFrom(500, 800, 2000),
    waitMs: fc.constantFrom(0, 200, 5000),
  }),
  fc.record({ kind: fc.constant("refresh" as const), key: fc.nat(2), value: fc.nat(3) }),
  fc.record({ kind: fc.constant("release" as const), key: fc.nat(2), value: fc.nat(3) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 900 }) }),
  fc.record({ kind: fc.constant("propose" as const) }),
  fc.record({
    kind: fc.constant("commit" as const),
    count: fc.integer({ min: 1, max: 4 }),
    drop: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("election" as const) }),
);

/**
 * Runs a schedule on one table with a leader whose lease commands travel through a lossy
 * in-flight queue (they may commit after a leader change: they are in the log), and returns the
 * first violation. The rule checked (docs/design.md §2): a lease command that takes effect was proposed
 * no earlier than the full lease length after both the apply of the revision it names and the
 * election of the leader that proposed it. A client's validity ends before the proposing leader's
 * deadline, so such an expiry never cuts a believed-valid holder short.
 */
function runSchedule(steps: Step[], plantedBugs?: PlantedLockBugs): string | null {
  const node = new Node({ expireRetryMs: 250, plantedBugs });
  let now = 0;
  let electedAt = 0;
  node.leases.becomeLeader(now, node.machine);
  const inFlight: { command: LeaseCommand; proposedAt: number; electedAt: number }[] = [];
  // "key" or "key/value" → [apply time of the current revision, lease length]
  const lease = new Map<string, [number, number]>();
  const keys = ["a", "b", "c"];
  const values = ["w", "x", "y", "z"];
  let violation: string | null = null;
  const check = (id: string, proposedAt: number, proposerElectedAt: number) => {
    const [appliedAt, lengthMs] = lease.get(id) ?? [0, 0];
    const earliest = Math.max(appliedAt, proposerElectedAt) + lengthMs;
    if (proposedAt < earliest)
      violation ??= `${id} ended by a command proposed at ${proposedAt}, before ${earliest}`;
  };
  const apply = (command: LockCommand, proposedAt = now, proposerElectedAt = electedAt) => {
    const result = node.apply(command, now);
    if (result.type === "expired") check(result.key, proposedAt, proposerElectedAt);
    if (result.type === "waiterRemoved" && result.reason === "expired")
      check(`${result.key}/${result.value}`, proposedAt, proposerElectedAt);
    if (result.type === "granted" || result.type === "refreshed")
      lease.set(result.key, [now, result.ttlMs]);
    if (result.type === "queued")
      lease.set(`${result.key}/${result.value}`, [now, result.waiterLeaseMs]);
    if ((result.type === "released" || result.type === "expired") && result.next)
      lease.set(result.key, [now, result.next.ttlMs]);
  };
  const commit = (count: number, drop: boolean) => {
    for (let i = 0; i < count && inFlight.length > 0; i++) {
      const entry = inFlight.shift() as (typeof inFlight)[number];
      if (!drop) apply(entry.command, entry.proposedAt, entry.electedAt);
    }
  };
  const propose = (maxBatch: number) => {
    for (const command of node.leases.dueExpiries(now, maxBatch))
      inFlight.push({ command, proposedAt: now, electedAt });
  };
  for (const step of steps) {
    switch (step.kind) {
      case "acquire":
        apply({
          type: "acquire",
          key: keys[step.key],
          value: values[step.value],
          ttlMs: step.ttlMs,
          waitMs: step.waitMs,
          lockDelayMs: 0,
          requestId: 0,
        });
        break;
      case "refresh":
      case "release": {
        const info = node.machine.get(keys[step.key]);
        const value = info.value === null || step.value === 0 ? values[step.value] : info.value;
        if (step.kind === "refresh")
          apply({
            type: "refresh",
            key: keys[step.key],
            value,
            token: info.fencingToken,
            ttlMs: info.ttlMs || 500,
          });
        else apply({ type: "release", key: keys[step.key], value, token: info.fencingToken });
        break;
      }
      case "advance":
        now += step.ms;
        break;
      case "propose":
        propose(3);
        break;
      case "commit":
        commit(step.count, step.drop);
        break;
      case "election":
        node.leases.becomeFollower();
        electedAt = now;
        node.leases.becomeLeader(now, node.machine);
        break;
    }
    if (violation) return violation;
  }
  // Liveness: with no more client traffic, every lease and waiter lease ends (lost proposals retried).
  for (let round = 0; round < 20 && node.machine.size > 0; round++) {
    now += 2000;
    propose(100);
    commit(inFlight.length, false);
  }
  if (violation) return violation;
  if (node.machine.size !== 0) return `leases never expired: ${[...node.machine.keys()].join(",")}`;
  return null;
}

describe("LeaseManager under random schedules", () => {
  it("never ends a lease early and always ends it eventually", () => {
    const seed = propertySeed("lease schedules");
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 150, size: "max" }), (steps) => {
        expect(runSchedule(steps)).toBeNull();
      }),
      { seed, numRuns: 1000 },
    );
  });

  for (const bug of [
    "noLeaseExtensionOnElection",
    "grantWaiterWithoutLeaseCheck",
    "expireIgnoresRefresh",
  ] as const) {
    it(`finds the planted bug ${bug}`, () => {
      const seed = propertySeed(`planted ${bug}`);
      const outcome = fc.check(
        fc.property(
          fc.array(stepArbitrary, { maxLength: 150, size: "max" }),
          (steps) => runSchedule(steps, { [bug]: true }) === null,
        ),
        { seed, numRuns: 3000 },
      );
      expect(outcome.failed).toBe(true);
      const [steps] = outcome.counterexample as [Step[]];
      const found = runSchedule(steps, { [bug]: true });
      expect(found).not.toBeNull();
      expect(runSchedule(steps)).toBeNull(); // the same schedule is fine without the bug
      console.log(`[planted ${bug}] found: ${found} (${steps.length} steps after shrinking)`);
    });
  }
});
