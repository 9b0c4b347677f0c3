import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { LockStateMachine } from "@dlock/server/lock";
import type { LockCommand, LockResult } from "@dlock/server/lock";
import { PrimitiveMetrics } from "../../src/admin/primitive-metrics.js";

/** A table whose applied results feed the metrics, as the server wires them. */
function metered(): { registry: Registry; apply: (command: LockCommand) => LockResult } {
  const registry = new Registry();
  const metrics = new PrimitiveMetrics(registry);
  const table = new LockStateMachine({ limits: { electionTimeoutMs: 100 } });
  metrics.setSource(() => table.primitiveGauges());
  let index = 0;
  const apply = (command: LockCommand): LockResult => {
    const result = table.apply(++index, command);
    metrics.observe([result]);
    return result;
  };
  return { registry, apply };
}

describe("PrimitiveMetrics", () => {
  it("counts grants and expiries per primitive and reads held and waiting from the table", async () => {
    const { registry, apply } = metered();
    const sem = { type: "semaphoreAcquire", ttlMs: 1000, requestId: 1, permits: 3 } as const;
    apply({ ...sem, key: "s", value: "a", waitMs: 0, count: 2 }); // 1
    apply({ ...sem, key: "s", value: "b", waitMs: 500, count: 2 }); // queued
    apply({ ...sem, key: "s", value: "a", waitMs: 0, count: 2 }); // renewal: not a grant
    const lock = { type: "acquire", ttlMs: 1000, lockDelayMs: 0, requestId: 1 } as const;
    apply({ ...lock, key: "l", value: "x", waitMs: 0 }); // 4
    apply({ ...lock, key: "l", value: "y", waitMs: 500 }); // queued
    let text = await registry.metrics();
    expect(text).toContain('dlock_primitive_held{primitive="lock"} 1');
    expect(text).toContain('dlock_primitive_held{primitive="semaphore"} 2');
    expect(text).toContain('dlock_primitive_waiting{primitive="semaphore"} 1');
    expect(text).toContain('dlock_primitive_grants_total{primitive="semaphore"} 1');
    // Expiries hand over to the waiters: a grant of each kind in the same step.
    apply({ type: "permitExpire", key: "s", value: "a", token: 1, leaseRevision: 3 });
    apply({ type: "expire", key: "l", token: 4, leaseRevision: 4 });
    text = await registry.metrics();
    expect(text).toContain('dlock_primitive_grants_total{primitive="semaphore"} 2');
    expect(text).toContain('dlock_primitive_grants_total{primitive="lock"} 2');
    expect(text).toContain('dlock_primitive_expiries_total{primitive="semaphore"} 1');
    expect(text).toContain('dlock_primitive_expiries_total{primitive="lock"} 1');
    expect(text).toContain('dlock_primitive_waiting{primitive="lock"} 0');
  });

  it("counts reader-writer holders, waiters, grants and expiries as primitive rw", async () => {
    const { registry, apply } = metered();
    const rw = { type: "rwAcquire", key: "k", ttlMs: 1000, requestId: 1 } as const;
    apply({ ...rw, value: "r1", waitMs: 0, mode: "read" }); // 1
    apply({ ...rw, value: "r2", waitMs: 0, mode: "read" }); // 2
    apply({ ...rw, value: "w", waitMs: 500, mode: "write" }); // queued
    let text = await registry.metrics();
    expect(text).toContain('dlock_primitive_held{primitive="rw"} 2');
    expect(text).toContain('dlock_primitive_waiting{primitive="rw"} 1');
    expect(text).toContain('dlock_primitive_grants_total{primitive="rw"} 2');
    apply({ type: "permitExpire", key: "k", value: "r1", token: 1, leaseRevision: 1 });
    apply({ type: "release", key: "k", value: "r2", token: 2 }); // grants the writer
    text = await registry.metrics();
    expect(text).toContain('dlock_primitive_held{primitive="rw"} 1');
    expect(text).toContain('dlock_primitive_grants_total{primitive="rw"} 3');
    expect(text).toContain('dlock_primitive_expiries_total{primitive="rw"} 1');
    expect(text).toContain('dlock_primitive_grants_total{primitive="semaphore"} 0');
  });
});
