import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, KindMismatchError, LockBusyError } from "@dlock/protocol";
import type { AcquireResult, ClientRequest } from "@dlock/protocol";
import { TTL_MS, contextAt, startService, stopServices } from "./service-cluster.js";

const rw = (
  key: string,
  value: string,
  mode: "read" | "write",
  waitMs?: number,
): ClientRequest => ({
  type: "rwAcquire",
  id: 1,
  key,
  value,
  ttlMs: TTL_MS,
  requestId: `${value}/1`,
  mode,
  ...(waitMs === undefined ? {} : { waitMs }),
});

describe("LockService reader-writer locks", () => {
  afterEach(stopServices);

  it("readers share, a writer waits for them, and a reader behind the writer waits for it", async () => {
    const { service, timers, table } = await startService("n1");
    const r1 = (await service.handle(rw("k", "r1", "read"), contextAt(timers))) as AcquireResult;
    const r2 = (await service.handle(rw("k", "r2", "read"), contextAt(timers))) as AcquireResult;
    expect(r2.fencingToken).toBeGreaterThan(r1.fencingToken);
    await expect(service.handle(rw("k", "w", "write"), contextAt(timers))).rejects.toBeInstanceOf(
      LockBusyError,
    );
    const w = service.handle(rw("k", "w", "write", 5_000), contextAt(timers, 2));
    await timers.advance(10);
    // A reader would fit beside r1 and r2, but the queued writer comes first.
    const r3 = service.handle(rw("k", "r3", "read", 5_000), contextAt(timers, 3));
    await timers.advance(10);
    expect(service.waitingCount).toBe(2);
    for (const [value, token] of [
      ["r1", r1.fencingToken],
      ["r2", r2.fencingToken],
    ] as const)
      await service.handle({ type: "release", id: 9, key: "k", value, token }, contextAt(timers));
    const writer = (await w) as AcquireResult;
    expect(writer.fencingToken).toBeGreaterThan(r2.fencingToken);
    expect(table.get("k").rw).toEqual({ readers: 0, writer: "w" });
    expect(service.waitingCount).toBe(1);
    await service.handle(
      { type: "release", id: 9, key: "k", value: "w", token: writer.fencingToken },
      contextAt(timers),
    );
    expect(((await r3) as AcquireResult).fencingToken).toBeGreaterThan(writer.fencingToken);
  });

  it("expires an unrefreshed writer on the leader and grants the waiting reader", async () => {
    const { cluster, service, host, timers } = await startService("n1");
    await service.handle(rw("k", "w", "write"), contextAt(timers));
    const waiting = service.handle(rw("k", "r", "read", 5_000), contextAt(timers, 2));
    await cluster.settle();
    await timers.advance(TTL_MS);
    expect(((await waiting) as AcquireResult).fencingToken).toBeGreaterThan(0);
    expect(host.commands("permitExpire")).toHaveLength(1);
  });

  it("types a key of another kind and a holder asking in the other mode", async () => {
    const { service, timers } = await startService("n1");
    await service.handle(rw("k", "a", "read"), contextAt(timers));
    await expect(
      service.handle(
        { type: "acquire", id: 2, key: "k", value: "b", ttlMs: TTL_MS, requestId: "b/2" },
        contextAt(timers),
      ),
    ).rejects.toBeInstanceOf(KindMismatchError);
    await expect(service.handle(rw("k", "a", "write"), contextAt(timers))).rejects.toMatchObject({
      constructor: InvalidArgumentError,
      field: "mode",
    });
  });
});
