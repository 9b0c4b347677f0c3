import { afterEach, describe, expect, it } from "vitest";
import { KindMismatchError, LockBusyError, PermitsMismatchError } from "@dlock/protocol";
import type { AcquireResult, ClientRequest } from "@dlock/protocol";
import type { ClientRequestContext } from "../../src/client-server/client-request-handler.js";
import { TTL_MS, startService, stopServices } from "./service-cluster.js";

const ctx = (timers: { now: number }, connectionId = 1): ClientRequestContext => ({
  connectionId,
  clientId: `c${connectionId}`,
  principal: null,
  receivedAtMs: timers.now,
});

const permit = (key: string, value: string, extra: Partial<ClientRequest> = {}): ClientRequest =>
  ({
    type: "semaphoreAcquire",
    id: 1,
    key,
    value,
    ttlMs: TTL_MS,
    requestId: `${value}/1`,
    permits: 2,
    ...extra,
  }) as ClientRequest;

describe("LockService semaphores", () => {
  afterEach(stopServices);

  it("grants N permits, refuses the next, and types a mismatched N or kind", async () => {
    const { service, timers } = await startService("n1");
    const a = (await service.handle(permit("s", "a"), ctx(timers))) as AcquireResult;
    const b = (await service.handle(permit("s", "b"), ctx(timers))) as AcquireResult;
    expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
    await expect(service.handle(permit("s", "c"), ctx(timers))).rejects.toBeInstanceOf(
      LockBusyError,
    );
    await expect(
      service.handle(permit("s", "c", { permits: 3 }), ctx(timers)),
    ).rejects.toBeInstanceOf(PermitsMismatchError);
    await expect(
      service.handle(
        { type: "acquire", id: 2, key: "s", value: "c", ttlMs: TTL_MS, requestId: "c/2" },
        ctx(timers),
      ),
    ).rejects.toBeInstanceOf(KindMismatchError);
  });

  it("a release grants every queued waiter that fits, in FIFO order, in one step", async () => {
    const { service, timers } = await startService("n1");
    const a = (await service.handle(
      permit("s", "a", { permits: 3, count: 3 }),
      ctx(timers),
    )) as AcquireResult;
    const b = service.handle(permit("s", "b", { permits: 3, waitMs: 5_000 }), ctx(timers, 2));
    const c = service.handle(
      permit("s", "c", { permits: 3, count: 2, waitMs: 5_000 }),
      ctx(timers, 3),
    );
    await timers.advance(200);
    expect(service.waitingCount).toBe(2);
    await service.handle(
      { type: "release", id: 9, key: "s", value: "a", token: a.fencingToken },
      ctx(timers),
    );
    const [gb, gc] = (await Promise.all([b, c])) as AcquireResult[];
    expect(gb!.fencingToken).toBe(gc!.fencingToken);
    expect(gb!.fencingToken).toBeGreaterThan(a.fencingToken);
    expect(gb!.waitedMs).toBe(200);
  });

  it("expires an unrefreshed permit on the leader and grants the waiter", async () => {
    const { cluster, service, host, timers, table } = await startService("n1");
    await service.handle(permit("s", "a", { permits: 1 }), ctx(timers));
    const waiting = service.handle(permit("s", "b", { permits: 1, waitMs: 5_000 }), ctx(timers, 2));
    await cluster.settle();
    await timers.advance(TTL_MS - 1);
    expect(table.get("s").semaphore).toEqual({ permits: 1, held: 1, holders: 1 });
    expect(host.commands("permitExpire")).toHaveLength(0);
    await timers.advance(1);
    const grant = (await waiting) as AcquireResult;
    expect(host.commands("permitExpire")).toHaveLength(1);
    expect(grant.fencingToken).toBeGreaterThan(0);
  });
});
