import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LockCommand, LockResult } from "@dlock/server/lock";
import { LockStateMachine, decodeCommand, encodeCommand } from "@dlock/server/lock";
import { propertySeed } from "./helpers.js";
import type { Summary } from "./reference-model.js";
import { ReferenceModel } from "./reference-model.js";

// Model-based test: random sequences of commands (with tokens and revisions picked among those
// the run has actually produced, so expiries, refreshes and releases hit live grants and also
// stale ones) go to the real state machine and to a naive reference model, and a set of
// invariants is checked on the results alone.

const LIMITS = {
  electionTimeoutMs: 10,
  ttlMsMin: 50,
  ttlMsMax: 1000,
  waitMsMax: 1000,
  lockDelayMsMax: 100,
  waitersPerKeyMax: 2,
  locksMax: 3,
};
const KEYS = ["a", "b", "c", "d"];
const VALUES = ["x", "y", "z", "w", "v"];

// The exclusive lock's commands; semaphores have their own model test.
type ExclusiveCommand = Exclude<
  LockCommand,
  { type: "semaphoreAcquire" | "rwAcquire" | "permitExpire" | "setLimits" }
>;
type OpKind = ExclusiveCommand["type"];
interface Op {
  kind: OpKind;
  key: number;
  value: number;
  pick: number;
  ttlMs: number;
  waitMs: number;
  lockDelayMs: number;
}

const opArbitrary: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<OpKind>(
    "acquire",
    "acquire",
    "acquire",
    "refresh",
    "release",
    "release",
    "expire",
    "expire",
    "waiterExpire",
    "cancelWait",
    "clearDelay",
  ),
  key: fc.nat(KEYS.length - 1),
  value: fc.nat(VALUES.length - 1),
  pick: fc.nat(64),
  ttlMs: fc.constantFrom(50, 100, 1000, 10, 1001),
  waitMs: fc.constantFrom(0, 0, 30, 500, 1001),
  lockDelayMs: fc.constantFrom(0, 0, 0, 40, 101),
});

/** Every token/revision a run produced per key, so generated commands name real ones. */
class Seen {
  tokens = new Map<string, number[]>();
  revisions = new Map<string, number[]>();
  waiterRevisions = new Map<string, number[]>();
  delayRevisions = new Map<string, number[]>();
  private static add(map: Map<string, number[]>, key: string, n: number): void {
    const list = map.get(key) ?? [0, 9999];
    list.push(n);
    map.set(key, list);
  }
  static pick(map: Map<string, number[]>, key: string, pick: number): number {
    const list = map.get(key) ?? [0, 9999];
    return list[list.length - 1 - (pick % list.length)];
  }
  record(r: LockResult): void {
    const grant = (token: number, revision: number) => {
      Seen.add(this.tokens, r.key, token);
      Seen.add(this.revisions, r.key, revision);
    };
    if (r.type === "granted" || r.type === "refreshed") grant(r.token, r.leaseRevision);
    if (r.type === "queued")
      Seen.add(this.waiterRevisions, `${r.key}/${r.value}`, r.waiterRevision);
    if ((r.type === "released" || r.type === "expired" || r.type === "delayCleared") && r.next)
      grant(r.next.token, r.next.leaseRevision);
    if (r.type === "expired" && r.delayRevision > 0)
      Seen.add(this.delayRevisions, r.key, r.delayRevision);
  }
}

function commandOf(op: Op, seen: Seen, requestId: number): ExclusiveCommand {
  const key = KEYS[op.key];
  const value = VALUES[op.value];
  switch (op.kind) {
    case "acquire":
      return {
        type: "acquire",
        key,
        value,
        ttlMs: op.ttlMs,
        waitMs: op.waitMs,
        lockDelayMs: op.lockDelayMs,
        requestId,
      };
    case "refresh":
      return {
        type: "refresh",
        key,
        value,
        token: Seen.pick(seen.tokens, key, op.pick),
        ttlMs: op.ttlMs,
      };
    case "release":
      return {
        type: "release",
        key,
        value,
        token: op.pick === 0 ? 0 : Seen.pick(seen.tokens, key, op.pick),
      };
    case "expire":
      return {
        type: "expire",
        key,
        token: Seen.pick(seen.tokens, key, op.pick),
        leaseRevision: Seen.pick(seen.revisions, key, op.pick >> 1),
      };
    case "waiterExpire":
      return {
        type: "waiterExpire",
        key,
        value,
        waiterRevision: Seen.pick(seen.waiterRevisions, `${key}/${value}`, op.pick),
      };
    case "cancelWait":
      return { type: "cancelWait", key, value };
    case "clearDelay":
      return {
        type: "clearDelay",
        key,
        delayRevision: Seen.pick(seen.delayRevisions, key, op.pick),
      };
  }
}

function summarize(r: LockResult): Summary {
  switch (r.type) {
    case "granted":
    case "refreshed":
      return { type: r.type, token: r.token };
    case "released":
    case "expired":
      return {
        type: r.type,
        token: r.token,
        next: r.next?.value ?? null,
        nextToken: r.next?.token ?? 0,
      };
    case "delayCleared":
      return { type: r.type, next: r.next?.value ?? null, nextToken: r.next?.token ?? 0 };
    case "notQueued":
      return { type: r.type, token: r.heldToken };
    case "rejected":
      return { type: r.type, code: r.code };
    default:
      return { type: r.type };
  }
}

/** Invariants checked on results only (independent of both implementations' internals). */
class ResultInvariants {
  private readonly holder = new Map<string, string | null>();
  private readonly lastToken = new Map<string, number>();
  private readonly queue = new Map<string, string[]>();

  private grant(key: string, value: string, token: number): void {
    // At most one holder: a new grant only happens to a free key.
    expect(this.holder.get(key) ?? null).toBeNull();
    // Fencing: tokens strictly increase per key.
    expect(token).toBeGreaterThan(this.lastToken.get(key) ?? 0);
    this.holder.set(key, value);
    this.lastToken.set(key, token);
  }

  private grantHead(key: string, value: string, token: number): void {
    // FIFO: a queued grant goes to the earliest waiter still queued.
    const q = this.queue.get(key) ?? [];
    expect(q[0]).toBe(value);
    q.shift();
    this.grant(key, value, token);
  }

  private dequeue(key: string, value: string): void {
    const q = this.queue.get(key) ?? [];
    expect(q).toContain(value);
    q.splice(q.indexOf(value), 1);
  }

  check(r: LockResult): void {
    switch (r.type) {
      case "granted":
        if (r.renewed) expect(this.holder.get(r.key)).toBe(r.value);
        else this.grant(r.key, r.value, r.token);
        return;
      case "refreshed":
        expect(this.holder.get(r.key)).toBe(r.value);
        expect(this.lastToken.get(r.key)).toBe(r.token);
        return;
      case "queued": {
        const q = this.queue.get(r.key) ?? [];
        this.queue.set(r.key, q);
        if (!q.includes(r.value)) q.push(r.value);
        expect(q.indexOf(r.value)).toBe(r.position);
        return;
      }
      case "busy":
        if (r.dequeued) this.dequeue(r.key, r.value);
        return;
      case "released":
      case "expired":
        expect(this.holder.get(r.key)).toBe(r.value);
        expect(this.lastToken.get(r.key)).toBe(r.token);
        this.holder.set(r.key, null);
        if (r.next) this.grantHead(r.key, r.next.value, r.next.token);
        return;
      case "delayCleared":
        expect(this.holder.get(r.key) ?? null).toBeNull();
        if (r.next) this.grantHead(r.key, r.next.value, r.next.token);
        return;
      case "waiterRemoved":
        this.dequeue(r.key, r.value);
        return;
      default:
        return;
    }
  }
}

describe("lock state machine against a reference model", () => {
  it("same results and views as the model; results satisfy the invariants; codec, snapshot and records round-trip", () => {
    const seed = propertySeed("lock model");
    fc.assert(
      fc.property(
        fc.array(opArbitrary, { minLength: 1, maxLength: 120, size: "max" }),
        fc.nat(120),
        fc.nat(7),
        (ops, cut, flushEvery) => {
          const real = new LockStateMachine({ limits: LIMITS });
          const viaBytes = new LockStateMachine({ limits: LIMITS });
          const model = new ReferenceModel(LIMITS);
          const invariants = new ResultInvariants();
          const seen = new Seen();
          const stored = new Map<string, Uint8Array>();
          let restored: LockStateMachine | null = null;
          let index = 0;
          const commands: LockCommand[] = [];
          for (let i = 0; i < ops.length; i++) {
            // Gaps in the index stand for no-op and membership entries.
            if (ops[i].pick % 5 === 0) {
              index++;
              real.markApplied(index);
              viaBytes.markApplied(index);
              restored?.markApplied(index);
            }
            index++;
            const command = commandOf(ops[i], seen, i);
            commands.push(command);
            const bytes = encodeCommand(command);
            expect(decodeCommand(bytes)).toEqual(command);
            const result = real.apply(index, command);
            expect(viaBytes.applyEntry(index, bytes)).toEqual(result);
            if (restored) expect(restored.apply(index, command)).toEqual(result);
            expect(summarize(result)).toEqual(model.apply(index, command));
            invariants.check(result);
            seen.record(result);
            const key = command.key;
            const view = real.get(key);
            const modelView = model.view(key);
            expect({ ...view, waiters: real.waiters(key).map((w) => w.value) }).toEqual({
              key,
              ...modelView,
            });
            expect(view.waiters).toBe(modelView.waiters.length);
            if (i === cut) {
              restored = new LockStateMachine({ limits: LIMITS });
              restored.restoreSnapshot(real.snapshot());
              expect(restored.stateHash()).toBe(real.stateHash());
            }
            if (flushEvery === 0 || i % flushEvery === 0) {
              for (const dirtyKey of real.takeDirtyKeys()) {
                const record = real.encodeLockRecord(dirtyKey);
                if (record === null) stored.delete(dirtyKey);
                else stored.set(dirtyKey, record);
              }
            }
          }
          // Determinism: the same commands give the same bytes on any member.
          expect(viaBytes.stateHash()).toBe(real.stateHash());
          expect(Buffer.from(viaBytes.snapshot())).toEqual(Buffer.from(real.snapshot()));
          if (restored) expect(restored.stateHash()).toBe(real.stateHash());
          // Records flushed incrementally rebuild the same table.
          for (const dirtyKey of real.takeDirtyKeys()) {
            const record = real.encodeLockRecord(dirtyKey);
            if (record === null) stored.delete(dirtyKey);
            else stored.set(dirtyKey, record);
          }
          const fromRecords = new LockStateMachine({ limits: LIMITS });
          fromRecords.loadRecords(real.appliedIndex, stored.values());
          expect(fromRecords.stateHash()).toBe(real.stateHash());
          expect(stored.size).toBe(real.size);
        },
      ),
      { seed, numRuns: 400 },
    );
  });

  it("the model test sees the interesting cases (so it proves something)", () => {
    // A fixed-seed census: over many random runs each kind of outcome occurs.
    const counts = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(opArbitrary, { minLength: 40, maxLength: 120 }), (ops) => {
        const machine = new LockStateMachine({ limits: LIMITS });
        const seen = new Seen();
        ops.forEach((op, i) => {
          const r = machine.apply(i + 1, commandOf(op, seen, i));
          seen.record(r);
          let label: string = r.type;
          if (r.type === "rejected") label = r.code;
          if (
            (r.type === "released" || r.type === "expired" || r.type === "delayCleared") &&
            r.next
          )
            label += "+next";
          if (r.type === "expired" && r.delayRevision > 0) label += "+delay";
          if (r.type === "stale") label += `:${r.command.type}`;
          counts.set(label, (counts.get(label) ?? 0) + 1);
        });
      }),
      { seed: 42, numRuns: 200 },
    );
    for (const label of [
      "granted",
      "queued",
      "busy",
      "refreshed",
      "released",
      "released+next",
      "expired",
      "expired+next",
      "expired+delay",
      "delayCleared",
      "delayCleared+next",
      "waiterRemoved",
      "notHeld",
      "notQueued",
      "stale:expire",
      "stale:waiterExpire",
      "stale:clearDelay",
      "NOT_OWNER",
      "INVALID_ARGUMENT",
      "WAITERS_FULL",
      "LOCKS_FULL",
    ])
      expect(counts.get(label) ?? 0, label).toBeGreaterThan(0);
  });
});
