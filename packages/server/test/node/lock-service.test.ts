import { afterEach, describe, expect, it } from "vitest";
import {
  AbortedError,
  InvalidArgumentError,
  LockBusyError,
  NotLeaderError,
  NotOwnerError,
} from "@dlock/protocol";
import type { AcquireResult, ClientRequest, GetResult } from "@dlock/protocol";
import type { ClientRequestContext } from "../../src/client-server/client-request-handler.js";
import { TTL_MS, startService, stopServices } from "./service-cluster.js";

const ctx = (timers: { now: number }, connectionId = 1): ClientRequestContext => ({
  connectionId,
  clientId: `c${connectionId}`,
  principal: null,
  receivedAtMs: timers.now,
});

const acquire = (key: string, value: string, extra: Partial<ClientRequest> = {}): ClientRequest =>
  ({
    type: "acquire",
    id: 1,
    key,
    value,
    ttlMs: TTL_MS,
    requestId: `${value}/1`,
    ...extra,
  }) as ClientRequest;

// LockService on n1 of three real RaftHosts (in-memory storage and network, virtual time).
const leaderService = (plantedBugs = {}) => startService("n1", plantedBugs);
const followerService = () => startService("n2");

describe("LockService", () => {
  afterEach(stopServices);

  it("grants a free key with the entry index as fencing token and refuses another value", async () => {
    const { service, timers } = await leaderService();
    const first = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    // Entry 1 is the leader's no-op, 2 its setLimits (the table held no replicated limits).
    expect(first).toEqual({ fencingToken: 3, ttlMs: TTL_MS, waitedMs: 0 });
    await expect(service.handle(acquire("k", "b"), ctx(timers))).rejects.toBeInstanceOf(
      LockBusyError,
    );
    // The same value again is a harmless retry: same token, fresh lease.
    const again = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    expect(again.fencingToken).toBe(3);
  });

  it("answers NOT_LEADER with the leader's id and client address on a follower", async () => {
    const { service, host, timers } = await followerService();
    const error = await service.handle(acquire("k", "a"), ctx(timers)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toEqual({
      id: "n2",
      clientAddress: "127.0.0.1:7002",
    });
    expect(host.proposed).toHaveLength(0);
    expect(host.refused).toHaveLength(0);
  });

  it("refuses bad input before proposing, naming the field", async () => {
    const { service, host, timers } = await leaderService();
    const error = await service
      .handle(acquire("k", "a", { ttlMs: 10 }), ctx(timers))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe("ttlMs");
    // Only what the leader proposes on its own at election.
    expect(host.proposed.map((c) => c.type)).toEqual(["setLimits"]);
    expect(host.refused).toHaveLength(0);
  });

  it("scopes refresh and release to value and token", async () => {
    const { service, timers } = await leaderService();
    const grant = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    const refresh = (token: number) =>
      service.handle(
        { type: "refresh", id: 2, key: "k", value: "a", token, ttlMs: TTL_MS },
        ctx(timers),
      );
    await expect(refresh(grant.fencingToken + 1)).rejects.toBeInstanceOf(NotOwnerError);
    await expect(refresh(grant.fencingToken)).resolves.toEqual({ ttlMs: TTL_MS });
    const release = (value: string, token: number) =>
      service.handle({ type: "release", id: 3, key: "k", value, token }, ctx(timers));
    await expect(release("b", grant.fencingToken)).resolves.toEqual({ released: false });
    await expect(release("a", grant.fencingToken + 1)).resolves.toEqual({ released: false });
    await expect(release("a", grant.fencingToken)).resolves.toEqual({ released: true });
    await expect(release("a", grant.fencingToken)).resolves.toEqual({ released: false });
  });

  it("hands a released lock to the first waiter, telling it how long it waited", async () => {
    const { service, timers } = await leaderService();
    const held = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    const waiting = service.handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 2));
    const second = service.handle(acquire("k", "c", { waitMs: 5_000 }), ctx(timers, 3));
    let settled = false;
    void waiting.then(() => (settled = true));
    await timers.advance(300);
    expect(settled).toBe(false);
    expect(service.waitingCount).toBe(2);
    await service.handle(
      { type: "release", id: 9, key: "k", value: "a", token: held.fencingToken },
      ctx(timers),
    );
    const grant = (await waiting) as AcquireResult;
    expect(grant.fencingToken).toBeGreaterThan(held.fencingToken);
    expect(grant.waitedMs).toBe(300);
    expect(service.waitingCount).toBe(1);
    void second.catch(() => {});
  });

  // A waiter's wait is the sum of the handoffs ahead of it: the grant must not wait for a later
  // turn, a later commit or a timer once the release that makes it is applied.
  it("answers the waiter a release grants in that release's own apply", async () => {
    const { cluster, service, timers } = await leaderService();
    const held = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    const waiting = service.handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 2));
    await cluster.settle();
    expect(service.waitingCount).toBe(1);
    // Heard after the service's own listener, in the same apply step.
    let waitingAtReleaseApply: number | null = null;
    cluster.node("n1").host.onApply((_entries, results) => {
      if (results.some((r) => r?.type === "released")) waitingAtReleaseApply = service.waitingCount;
    });
    const nowBefore = timers.now;
    await service.handle(
      { type: "release", id: 9, key: "k", value: "a", token: held.fencingToken },
      ctx(timers),
    );
    expect(waitingAtReleaseApply).toBe(0);
    const grant = (await waiting) as AcquireResult;
    expect(grant.fencingToken).toBeGreaterThan(held.fencingToken);
    expect(timers.now).toBe(nowBefore);
  });

  // The host-level form of lock regression seed 1049109017 (testkit lock-regressions): there a
  // whole simulated schedule had to line up a slow leader disk with a leader change, and every
  // change of the host's timing moved it off its case.
  it.each([
    { rule: "the granting entry's proposal", bugs: {}, passes: true },
    { rule: "this node's apply (planted)", bugs: { waitEndsAtApply: true }, passes: false },
  ])("ends a wait at the granting entry's proposal, not at a late apply: $rule", async (c) => {
    const { cluster, service, timers } = await leaderService(c.bugs);
    // When n2 applied the entry that granted the key to a waiter, and its token.
    let grantOnN2: { token: number; atMs: number } | null = null;
    cluster.node("n2").host.onApply((_entries, results) => {
      for (const result of results) {
        if (result?.type === "released" && result.next !== null)
          grantOnN2 = { token: result.next.token, atMs: timers.now };
      }
    });
    const held = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    const receivedAtMs = timers.now;
    const waiting = service.handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 2));
    let answered = false;
    void waiting.then(() => (answered = true));
    await timers.advance(300);
    // n1's disk stalls as it proposes the release: n2 and n3 write it, it commits, they apply
    // it at the next tick (the commit index rides the tick's empty append); n1 applies it only
    // once its own copy is written, 300 ms later, still leading. n2 could lead from then on and
    // time the grant's lease from its election, so the wait may not end after n2's apply.
    const resume = cluster.stallWrites("n1");
    const proposedAtMs = timers.now;
    const released = service.handle(
      { type: "release", id: 9, key: "k", value: "a", token: held.fencingToken },
      ctx(timers),
    );
    await timers.advance(300);
    const onN2 = grantOnN2 as { token: number; atMs: number } | null;
    expect(onN2?.atMs).toBeLessThan(timers.now);
    expect(answered).toBe(false);
    await resume();
    await expect(released).resolves.toEqual({ released: true });
    const grant = (await waiting) as AcquireResult;
    // The situation: n2 applied the granting entry, then n1 (300 ms later) answered the waiter.
    expect(grant.fencingToken).toBe(onN2!.token);
    const waitEndsAtMs = receivedAtMs + grant.waitedMs;
    const endsInTime = waitEndsAtMs === proposedAtMs && waitEndsAtMs <= onN2!.atMs;
    expect({ waitEndsAtMs, endsInTime }).toEqual({
      waitEndsAtMs: c.passes ? proposedAtMs : timers.now,
      endsInTime: c.passes,
    });
  });

  it("answers LOCK_BUSY when the wait runs out, after the waiter left the queue", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    await service.handle(acquire("k", "a", { ttlMs: 60_000 }), ctx(timers));
    // A wait shorter than the TTL ends with the waiter's queue lease (the leader's expiry)...
    const short = service
      .handle(acquire("k", "b", { waitMs: 500 }), ctx(timers, 2))
      .catch((e: unknown) => e);
    await cluster.settle();
    await timers.advance(500);
    expect(await short).toBeInstanceOf(LockBusyError);
    expect(host.commands("waiterExpire")).toHaveLength(1);
    expect(table.get("k").waiters).toBe(0);
    // ...a longer one, kept alive meanwhile, by a cancel proposed when it runs out.
    const long = service
      .handle(acquire("k", "c", { waitMs: 1_500 }), ctx(timers, 3))
      .catch((e: unknown) => e);
    await cluster.settle();
    await timers.advance(1_499);
    expect(table.get("k").waiters).toBe(1);
    await timers.advance(1);
    expect(await long).toBeInstanceOf(LockBusyError);
    expect(host.commands("cancelWait")).toHaveLength(1);
    expect(host.commands("waiterExpire")).toHaveLength(1);
    expect(table.get("k").waiters).toBe(0);
  });

  it("keeps a wait longer than the TTL alive by re-sending the acquire", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    await service.handle(acquire("k", "a", { ttlMs: 60_000 }), ctx(timers));
    const waiting = service.handle(acquire("k", "b", { waitMs: 10_000 }), ctx(timers, 2));
    void waiting.catch(() => {});
    await cluster.settle();
    await timers.advance(5 * TTL_MS);
    expect(table.get("k").waiters).toBe(1);
    expect(host.commands("acquire").length).toBeGreaterThanOrEqual(1 + 5 * 2);
    expect(host.commands("waiterExpire")).toHaveLength(0);
  });

  it("expires an unrefreshed lease on the leader and grants the next waiter", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    const held = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    const waiting = service.handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 2));
    await cluster.settle();
    await timers.advance(TTL_MS - 1);
    expect(table.get("k").value).toBe("a");
    await timers.advance(1);
    const grant = (await waiting) as AcquireResult;
    expect(host.commands("expire")).toHaveLength(1);
    expect(table.get("k").value).toBe("b");
    expect(grant.fencingToken).toBeGreaterThan(held.fencingToken);
  });

  it("gives every lease a full TTL from its election before expiring it", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    await service.handle(acquire("k", "a"), ctx(timers));
    await cluster.transfer("n1", "n2");
    await timers.advance(5 * TTL_MS);
    expect(host.commands("expire")).toHaveLength(0);
    // n2 runs no lock service: nobody expired the lease meanwhile.
    expect(table.get("k").held).toBe(true);
    await cluster.transfer("n2", "n1");
    await timers.advance(TTL_MS - 1);
    expect(table.get("k").held).toBe(true);
    await timers.advance(1);
    expect(table.get("k").held).toBe(false);
  });

  it("fails waiters with a leader hint when leadership moves", async () => {
    const { cluster, service, timers } = await leaderService();
    await service.handle(acquire("k", "a", { ttlMs: 60_000 }), ctx(timers));
    const waiting = service
      .handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 2))
      .catch((e: unknown) => e);
    await cluster.settle();
    // n1 hears of the move only once n2 leads, so its first news names the new leader.
    const release = await cluster.stepDownUnheard("n2");
    await release();
    const error = await waiting;
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint?.id).toBe("n2");
    expect(service.waitingCount).toBe(0);
  });

  it("never tells a waiter its acquire was not applied: its entry is in the log", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    await service.handle(acquire("k", "a", { ttlMs: 60_000 }), ctx(timers));
    // One wait ends with the cancel its deadline proposes (received 100 ms before it queued, so
    // before its queue lease ends), one with the keepalive of a wait longer than the TTL (at
    // TTL/3); the core refuses both: it stepped down before the service heard.
    const ending = service
      .handle(acquire("k", "b", { ttlMs: 60_000, waitMs: 500 }), {
        ...ctx(timers, 2),
        receivedAtMs: timers.now - 100,
      })
      .catch((e: unknown) => e);
    const keptAlive = service
      .handle(acquire("k", "c", { waitMs: 10 * TTL_MS }), ctx(timers, 3))
      .catch((e: unknown) => e);
    await cluster.settle();
    expect(table.get("k").waiters).toBe(2);
    const release = await cluster.stepDownUnheard("n2");
    await timers.advance(450);
    for (const error of [await ending, await keptAlive]) {
      expect(error).toBeInstanceOf(NotLeaderError);
      expect((error as NotLeaderError).notApplied).toBe(false);
    }
    expect(host.refused.map((c) => c.type).sort()).toEqual(["acquire", "cancelWait"]);
    // A request refused before it was proposed still says so.
    await release();
    const refused = await service.handle(acquire("k", "d"), ctx(timers)).catch((e: unknown) => e);
    expect((refused as NotLeaderError).notApplied).toBe(true);
  });

  it("sends clients to another node while its disk fails, and serves them once it writes", async () => {
    const { cluster, service, timers, table } = await leaderService();
    await service.handle(acquire("k", "a"), ctx(timers));
    cluster.failWrites("n1", new Error("ENOSPC: no space left on device"));
    const error = await service.handle(acquire("j", "a"), ctx(timers)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toBeNull();
    expect((error as NotLeaderError).message).toMatch(/ENOSPC.*another node/);
    // Its entry may commit on the followers' copies: the client must not take it as undone.
    expect((error as NotLeaderError).notApplied).toBe(false);
    cluster.failWrites("n1", undefined);
    const n1 = cluster.node("n1").host;
    await cluster.until("n1 writes again", () => n1.healthy());
    const grant = (await service.handle(acquire("m", "a"), ctx(timers))) as AcquireResult;
    expect(grant.fencingToken).toBeGreaterThan(2);
    expect(table.get("m").value).toBe("a");
  });

  it("names the grant a cancel finds, so the client can give it back", async () => {
    const { cluster, service, timers } = await leaderService();
    const held = (await service.handle(acquire("k", "a"), ctx(timers))) as AcquireResult;
    const waiting = service.handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 2));
    await cluster.settle();
    await service.handle(
      { type: "release", id: 2, key: "k", value: "a", token: held.fencingToken },
      ctx(timers),
    );
    const grant = (await waiting) as AcquireResult;
    const cancel = (value: string) =>
      service.handle(
        { type: "cancel", id: 3, key: "k", value, requestId: `${value}/1` },
        ctx(timers),
      );
    await expect(cancel("b")).resolves.toEqual({
      cancelled: false,
      fencingToken: grant.fencingToken,
    });
    await expect(cancel("c")).resolves.toEqual({ cancelled: false });
  });

  it("drops a closed connection's waiters from the queue at once", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    await service.handle(acquire("k", "a", { ttlMs: 60_000 }), ctx(timers));
    void service.handle(acquire("k", "b", { waitMs: 5_000 }), ctx(timers, 7)).catch(() => {});
    await cluster.settle();
    expect(table.get("k").waiters).toBe(1);
    service.connectionClosed(7);
    await cluster.settle();
    expect(host.commands("cancelWait")).toHaveLength(1);
    expect(table.get("k").waiters).toBe(0);
  });

  it("drops the waiter of a connection that closed while its acquire was being committed", async () => {
    const { cluster, service, host, timers, table } = await leaderService();
    await service.handle(acquire("k", "a", { ttlMs: 60_000 }), ctx(timers));
    const outcome = service.handle(acquire("k", "b", { waitMs: 60_000 }), ctx(timers, 7)).then(
      () => null,
      (error: unknown) => error,
    );
    // Closed before the acquire is applied: there is no waiter yet for connectionClosed to drop.
    service.connectionClosed(7);
    await cluster.settle();
    expect(service.waitingCount).toBe(0);
    expect(await outcome).toBeInstanceOf(AbortedError);
    expect(host.commands("cancelWait")).toHaveLength(1);
    expect(table.get("k").waiters).toBe(0);
  });

  it("reads through ReadIndex, unless the planted bug skips it", async () => {
    const honest = await leaderService();
    await honest.service.handle(acquire("k", "a"), ctx(honest.timers));
    const read = (await honest.service.handle(
      { type: "get", id: 5, key: "k" },
      ctx(honest.timers),
    )) as GetResult;
    expect(read).toEqual({
      held: true,
      value: "a",
      fencingToken: 3,
      ttlRemainingMs: TTL_MS,
      waiters: 0,
    });
    expect(honest.host.readIndexCalls).toBe(1);
    const buggy = await leaderService({ readWithoutReadIndex: true });
    await buggy.service.handle({ type: "get", id: 5, key: "k" }, ctx(buggy.timers));
    expect(buggy.host.readIndexCalls).toBe(0);
  });

  it("sends status to a known leader, and answers it itself when there is none", async () => {
    const { cluster, service, timers } = await followerService();
    const redirected = await service
      .handle({ type: "status", id: 1 }, ctx(timers))
      .catch((e: unknown) => e);
    expect(redirected).toBeInstanceOf(NotLeaderError);
    await cluster.loseLeader("n1");
    await expect(service.handle({ type: "status", id: 2 }, ctx(timers))).resolves.toMatchObject({
      leader: "n1",
    });
  });
});
