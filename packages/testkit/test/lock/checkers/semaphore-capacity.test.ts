import { describe, expect, it } from "vitest";
import { LockStateMachine } from "@dlock/server/lock";
import type { LockCommand, LockResult } from "@dlock/server/lock";
import { withPlantedLockBugs } from "@dlock/server/internal";
import type { PlantedLockBugs } from "@dlock/server/internal";
import { checkSemaphoreCapacity } from "../../../src/checkers/lock/semaphore-capacity.js";
import type { PermitBelief } from "../../../src/checkers/lock/semaphore-capacity.js";
import { Prng } from "../../../src/prng.js";

let nextId = 0;
function belief(
  client: string,
  startMs: number,
  endMs: number,
  options: { count?: number; permits?: number; validUntilMs?: number; key?: string } = {},
): PermitBelief {
  return {
    id: nextId++,
    client,
    key: options.key ?? "s",
    value: client,
    token: startMs,
    startMs,
    extensions: [{ atMs: startMs, validUntilMs: options.validUntilMs ?? endMs + 1_000 }],
    endMs,
    endReason: "released",
    permits: options.permits ?? 2,
    count: options.count ?? 1,
  };
}

describe("checkSemaphoreCapacity", () => {
  it("accepts up to N permits at once, and intervals that only touch", () => {
    expect(
      checkSemaphoreCapacity([
        belief("a", 0, 100),
        belief("b", 50, 150),
        belief("c", 100, 200),
        belief("d", 150, 300, { key: "t" }),
      ]),
    ).toBeNull();
  });

  it("finds N + 1 permits believed held at one instant, counting k per holder", () => {
    const violation = checkSemaphoreCapacity(
      [
        belief("a", 0, 100),
        belief("b", 50, 150, { count: 2, permits: 3 }),
        belief("c", 60, 70, { permits: 3 }),
        belief("d", 90, 95, { permits: 3 }),
      ].map((b) => ({ ...b, permits: 3 })),
    );
    expect(violation?.property).toBe("semaphoreCapacity");
    expect(violation?.message).toContain("4 of 3 permits");
  });

  it("ends a belief when its validity ran out, even if the release came later", () => {
    const beliefs = [belief("a", 0, 500, { validUntilMs: 100 }), belief("b", 0, 500)];
    const third = belief("c", 100, 200);
    expect(checkSemaphoreCapacity([...beliefs, third])).toBeNull();
    const late = belief("c", 99, 200);
    expect(checkSemaphoreCapacity([...beliefs, late])?.property).toBe("semaphoreCapacity");
  });

  it("finds holders of one key that disagree on N", () => {
    expect(
      checkSemaphoreCapacity([belief("a", 0, 10), belief("b", 20, 30, { permits: 3 })])?.message,
    ).toContain("3-permit");
  });
});

// The committed history as a clock: a grant is believed from its entry until the entry that ends
// it (release or expiry). A correct table never exceeds N; the planted overcommit does.
function runRandomHistory(seed: number, bugs?: PlantedLockBugs): PermitBelief[] {
  const rng = new Prng(seed);
  const pick = (n: number) => rng.int(0, n - 1);
  const machine = new LockStateMachine(
    withPlantedLockBugs({ limits: { electionTimeoutMs: 100 } }, bugs),
  );
  const beliefs: PermitBelief[] = [];
  const open = new Map<string, PermitBelief>();
  const permits = 3;
  const begin = (key: string, value: string, token: number, index: number, count: number) => {
    const b = belief(value, index, Number.POSITIVE_INFINITY, { key, permits, count });
    b.token = token;
    b.endMs = null;
    b.extensions = [{ atMs: index, validUntilMs: Number.POSITIVE_INFINITY }];
    beliefs.push(b);
    open.set(`${key}/${value}`, b);
  };
  const end = (key: string, value: string, index: number) => {
    const b = open.get(`${key}/${value}`);
    if (b === undefined) return;
    b.endMs = index;
    open.delete(`${key}/${value}`);
  };
  const counts = new Map<string, number>();
  for (let index = 1; index <= 300; index++) {
    const key = `s${pick(2)}`;
    const value = `v${pick(6)}`;
    const held = open.get(`${key}/${value}`);
    let command: LockCommand;
    if (held !== undefined && pick(2) === 0) {
      command =
        pick(2) === 0
          ? { type: "release", key, value, token: held.token }
          : { type: "permitExpire", key, value, token: held.token, leaseRevision: held.token };
    } else {
      const count = 1 + pick(2);
      command = {
        type: "semaphoreAcquire",
        key,
        value,
        ttlMs: 1_000,
        waitMs: pick(2) === 0 ? 0 : 500,
        requestId: index,
        permits,
        count,
      };
    }
    const result: LockResult = machine.apply(index, command);
    if (
      command.type === "semaphoreAcquire" &&
      (result.type === "granted" || result.type === "queued")
    )
      counts.set(`${key}/${value}`, command.count);
    if (result.type === "granted" && !result.renewed)
      begin(key, value, result.token, index, counts.get(`${key}/${value}`)!);
    if (result.type === "released" || result.type === "expired") end(key, result.value, index);
    if ("grants" in result)
      for (const g of result.grants ?? [])
        begin(key, g.value, g.token, index, counts.get(`${key}/${g.value}`)!);
  }
  for (const b of open.values()) b.endMs = 301;
  return beliefs;
}

describe("semaphoreCapacity against the replicated table", () => {
  it("finds no violation in correct histories and finds the planted semaphoreOvercommit", () => {
    const base = Number(process.env.SEMAPHORE_SEED ?? 1);
    console.log(`[semaphore capacity] seeds ${base}..${base + 199} (replay with SEMAPHORE_SEED)`);
    let found = 0;
    for (let seed = base; seed < base + 200; seed++) {
      expect(checkSemaphoreCapacity(runRandomHistory(seed)), `seed ${seed}`).toBeNull();
      if (checkSemaphoreCapacity(runRandomHistory(seed, { semaphoreOvercommit: true })) !== null)
        found++;
    }
    expect(found).toBeGreaterThan(0);
  });
});
