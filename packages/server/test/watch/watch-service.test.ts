import { describe, expect, it } from "vitest";
import type { Entry } from "@dlock/raft";
import { TooManyRequestsError, WatchRevisionCompactedError } from "@dlock/protocol";
import type { WatchRequest } from "@dlock/protocol";
import { LockStateMachine } from "@dlock/server/lock";
import type { LockCommand, LockResult } from "@dlock/server/lock";
import { WatchService } from "../../src/watch/watch-service.js";
import { TEST_LIMITS } from "../lock/helpers.js";

/** Virtual timers: fire() runs every timer armed so far. */
class Timers {
  private readonly armed = new Map<number, () => void>();
  private next = 1;
  set(callback: () => void, _delayMs: number): unknown {
    const id = this.next++;
    this.armed.set(id, callback);
    return id;
  }
  clear(handle: unknown): void {
    this.armed.delete(handle as number);
  }
  get count(): number {
    return this.armed.size;
  }
  fire(): void {
    const callbacks = Array.from(this.armed.values());
    this.armed.clear();
    for (const callback of callbacks) callback();
  }
}

function setup(historyEventsMax = 100) {
  const table = new LockStateMachine({ limits: TEST_LIMITS });
  const timers = new Timers();
  const service = new WatchService({
    table,
    timers,
    watch: { historyEventsMax, watchesPerConnectionMax: 2, watchesMax: 3 },
  });
  let index = 0;
  const apply = (...commands: LockCommand[]): number => {
    const entries: Entry[] = [];
    const results: LockResult[] = [];
    for (const command of commands) {
      index++;
      entries.push({ kind: "normal", index, term: 1, data: new Uint8Array() } as Entry);
      results.push(table.apply(index, command));
    }
    service.onApplied(entries, results);
    return index;
  };
  const acquire = (key: string, value: string, waitMs = 0): LockCommand => ({
    type: "acquire",
    key,
    value,
    ttlMs: 1000,
    waitMs,
    lockDelayMs: 0,
    requestId: 1,
  });
  const release = (key: string, value: string, token: number): LockCommand => ({
    type: "release",
    key,
    value,
    token,
  });
  return { table, timers, service, apply, acquire, release };
}

const watch = (key: string, fromRevision?: number, extra: Partial<WatchRequest> = {}) =>
  ({
    type: "watch",
    id: 1,
    key,
    prefix: true,
    ...(fromRevision === undefined ? {} : { fromRevision }),
    ...extra,
  }) as WatchRequest;

describe("WatchService", () => {
  it("answers a waiting watch with the first matching events, and resumes without a gap", async () => {
    const { service, apply, acquire, release } = setup();
    apply(acquire("a/1", "x"));
    const waiting = service.watch(watch("b/"), 1);
    expect(service.watchersCount).toBe(1);
    apply(acquire("b/1", "y"), acquire("a/2", "z"));
    const first = await waiting;
    expect(first.events.map((e) => [e.revision, e.type, e.key])).toEqual([[2, "granted", "b/1"]]);
    expect(first.revision).toBe(3);
    apply(release("b/1", "y", 2));
    const second = await service.watch(watch("b/", first.revision + 1), 1);
    expect(second.events.map((e) => [e.revision, e.type])).toEqual([[4, "released"]]);
    expect(service.watchersCount).toBe(0);
  });

  it("answers with no events when the wait ends, with the revision it got to", async () => {
    const { service, timers, apply, acquire } = setup();
    apply(acquire("a/1", "x"));
    const waiting = service.watch(watch("b/", 2), 1);
    apply(acquire("a/2", "x"));
    timers.fire();
    expect(await waiting).toEqual({ events: [], revision: 2 });
  });

  it("a revision older than the bounded history is WATCH_REVISION_COMPACTED", async () => {
    const { service, apply, acquire } = setup(2);
    for (let i = 0; i < 5; i++) apply(acquire(`k${i}`, "v"));
    await expect(service.watch(watch("", 1), 1)).rejects.toBeInstanceOf(
      WatchRevisionCompactedError,
    );
    await expect(service.watch(watch("", 1), 1)).rejects.toMatchObject({ oldestRevision: 4 });
    expect((await service.watch(watch("", 4), 1)).events).toHaveLength(2);
  });

  it("a waiting watch the history moves past is told so, not buffered", async () => {
    const { service, apply, acquire } = setup(2);
    const waiting = service.watch(watch("nothing/", 1), 1);
    for (let i = 0; i < 5; i++) apply(acquire(`k${i}`, "v"));
    await expect(waiting).rejects.toBeInstanceOf(WatchRevisionCompactedError);
    expect(service.watchersCount).toBe(0);
  });

  it("bounds the waiting watches per connection and in all, and forgets a closed connection's", async () => {
    const { service, timers } = setup();
    void service.watch(watch("a"), 1);
    void service.watch(watch("b"), 1);
    await expect(service.watch(watch("c"), 1)).rejects.toBeInstanceOf(TooManyRequestsError);
    void service.watch(watch("d"), 2);
    await expect(service.watch(watch("e"), 3)).rejects.toBeInstanceOf(TooManyRequestsError);
    service.connectionClosed(1);
    expect(service.watchersCount).toBe(1);
    expect(timers.count).toBe(1);
  });

  it("a watch from now starts after the applied revision; a snapshot install restarts the history", async () => {
    const { service, table, apply, acquire } = setup();
    apply(acquire("a", "x"));
    const now = await service.watch(watch("", undefined, { waitMs: 0 }), 1);
    expect(now).toEqual({ events: [], revision: 1 });
    const other = new LockStateMachine({ limits: TEST_LIMITS });
    for (let i = 1; i <= 9; i++) other.apply(i, acquire(`s${i}`, "v"));
    table.restoreSnapshot(other.snapshot());
    await expect(service.watch(watch("", 2), 1)).rejects.toBeInstanceOf(
      WatchRevisionCompactedError,
    );
    expect(await service.watch(watch("", 10, { waitMs: 0 }), 1)).toEqual({
      events: [],
      revision: 9,
    });
  });

  it("lists a prefix in key order, in pages, with holders and waiters", () => {
    const { service, apply, acquire } = setup();
    apply(acquire("p/b", "x"), acquire("p/a", "y"), acquire("q/a", "z"), acquire("p/a", "w", 5000));
    const first = service.list({ type: "list", id: 1, prefix: "p/", limit: 1 });
    expect(first).toEqual({
      locks: [{ key: "p/a", value: "y", fencingToken: 2, waiters: ["w"], inLockDelay: false }],
      revision: 4,
      more: true,
    });
    const second = service.list({ type: "list", id: 1, prefix: "p/", after: "p/a", limit: 1 });
    expect(second.locks.map((l) => l.key)).toEqual(["p/b"]);
    expect(second.more).toBe(false);
  });

  it("sends a reader-writer event's mode and a semaphore event's permits and count", async () => {
    const { service, apply } = setup();
    apply(
      {
        type: "semaphoreAcquire",
        key: "m/pool",
        value: "a",
        ttlMs: 1000,
        waitMs: 0,
        requestId: 1,
        permits: 3,
        count: 2,
      },
      {
        type: "rwAcquire",
        key: "m/rw",
        value: "r",
        ttlMs: 1000,
        waitMs: 0,
        requestId: 1,
        mode: "read",
      },
    );
    const { events } = await service.watch(watch("m/", 1), 1);
    expect(events).toEqual([
      { revision: 1, type: "granted", key: "m/pool", value: "a", token: 1, permits: 3, count: 2 },
      { revision: 2, type: "granted", key: "m/rw", value: "r", token: 2, mode: "read" },
    ]);
  });

  it("lists a semaphore's permits and holders, and a reader-writer key's mode and holders", () => {
    const { service, apply } = setup();
    const take = (key: string, value: string, count: number): LockCommand => ({
      type: "semaphoreAcquire",
      key,
      value,
      ttlMs: 1000,
      waitMs: 0,
      requestId: 1,
      permits: 3,
      count,
    });
    const rw = (key: string, value: string, mode: "read" | "write"): LockCommand => ({
      type: "rwAcquire",
      key,
      value,
      ttlMs: 1000,
      waitMs: mode === "write" ? 5000 : 0,
      requestId: 1,
      mode,
    });
    apply(take("m/pool", "a", 2), take("m/pool", "b", 1), rw("m/rw", "r1", "read"));
    apply(rw("m/rw", "r2", "read"), rw("m/rw", "w", "write"));
    const { locks } = service.list({ type: "list", id: 1, prefix: "m/" });
    expect(locks).toEqual([
      {
        key: "m/pool",
        value: null,
        fencingToken: 2,
        waiters: [],
        inLockDelay: false,
        semaphore: {
          permits: 3,
          held: 3,
          holders: [
            { value: "a", fencingToken: 1, count: 2, ttlRemainingMs: null },
            { value: "b", fencingToken: 2, count: 1, ttlRemainingMs: null },
          ],
        },
      },
      {
        key: "m/rw",
        value: null,
        fencingToken: 4,
        waiters: ["w"],
        inLockDelay: false,
        rw: {
          mode: "read",
          holders: [
            { value: "r1", fencingToken: 3, mode: "read", ttlRemainingMs: null },
            { value: "r2", fencingToken: 4, mode: "read", ttlRemainingMs: null },
          ],
        },
      },
    ]);
  });
});
