// The authorizing handler in front of a recording fake of the services: what reaches them (bound
// values), what is refused before (PERMISSION_DENIED, an over-long bound value) and what `get`
// shows to whom.
import { describe, expect, it } from "vitest";
import { PermissionDeniedError } from "@dlock/protocol";
import type { ClientRequest, GetResult } from "@dlock/protocol";
import { AuthorizingHandler } from "../../src/auth/authorizing-handler.js";
import type { Principal } from "../../src/auth/grants.js";
import type { ClientRequestContext } from "../../src/client-server/client-request-handler.js";
import { SILENT_LOGGER } from "@dlock/protocol";
import { LockStateMachine } from "@dlock/server/lock";

const ci: Principal = { name: "ci", grants: [{ role: "lock", scope: "jobs/*" }] };
const reader: Principal = { name: "reader", grants: [{ role: "read", scope: "*" }] };
const ops: Principal = { name: "ops", grants: [{ role: "admin", scope: "*" }] };

const context = (principal: Principal | null): ClientRequestContext => ({
  connectionId: 1,
  clientId: "t",
  principal,
  receivedAtMs: 0,
});

function setup(held: GetResult, table = { limits: { valueBytesMax: 32 } }) {
  const seen: ClientRequest[] = [];
  const handler = new AuthorizingHandler({
    inner: {
      handle: (request) => {
        seen.push(request);
        if (request.type === "get") return Promise.resolve(held);
        if (request.type === "release") return Promise.resolve({ released: true });
        return Promise.resolve({ fencingToken: 7, ttlMs: 1_000, waitedMs: 0 });
      },
    },
    table,
    logger: SILENT_LOGGER,
  });
  return { handler, seen };
}

const heldBy = (value: string): GetResult => ({
  held: true,
  value,
  fencingToken: 7,
  ttlRemainingMs: 900,
  waiters: 0,
});

describe("AuthorizingHandler", () => {
  it("binds the value to the principal before the services see it", async () => {
    const { handler, seen } = setup(heldBy("x"));
    const acquire = {
      type: "acquire",
      id: 1,
      key: "jobs/a",
      value: "v",
      ttlMs: 1_000,
      requestId: "r",
    } as const;
    await handler.handle(acquire, context(ci));
    await handler.handle(
      { type: "release", id: 2, key: "jobs/a", value: "v", token: 7 },
      context(ci),
    );
    expect(seen.map((r) => ("value" in r ? r.value : null))).toEqual(["ci\u0000v", "ci\u0000v"]);
  });

  it("passes requests through unchanged without an auth file (principal null)", async () => {
    const { handler, seen } = setup(heldBy("v"));
    const acquire = {
      type: "acquire",
      id: 1,
      key: "any",
      value: "v",
      ttlMs: 1_000,
      requestId: "r",
    } as const;
    await handler.handle(acquire, context(null));
    expect(seen).toEqual([acquire]);
    expect(await handler.handle({ type: "get", id: 2, key: "any" }, context(null))).toMatchObject({
      value: "v",
    });
  });

  it("refuses out-of-scope and admin operations before the services see them", async () => {
    const { handler, seen } = setup(heldBy("x"));
    await expect(
      handler.handle({ type: "release", id: 1, key: "billing/a", value: "v" }, context(ci)),
    ).rejects.toEqual(new PermissionDeniedError("release", "billing/a"));
    await expect(
      handler.handle({ type: "removeMember", id: 2, nodeId: "n3" }, context(ci)),
    ).rejects.toMatchObject({ code: "PERMISSION_DENIED", operation: "removeMember", key: null });
    await expect(
      handler.handle({ type: "forceRelease", id: 3, key: "jobs/a" }, context(reader)),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(seen).toEqual([]);
  });

  it("refuses a value that no longer fits once bound, naming the room left", async () => {
    const { handler, seen } = setup(heldBy("x"));
    const value = "v".repeat(30); // 2 + 1 + 30 > 32
    await expect(
      handler.handle({ type: "release", id: 1, key: "jobs/a", value }, context(ci)),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "value",
      message: expect.stringContaining("at most 29 bytes"),
    });
    expect(seen).toEqual([]);
  });

  it("checks a bound value against the replicated value limit, not this node's flag", async () => {
    // This node's flag says 32 bytes; the leader's setLimits entry said 64, then 16.
    const table = new LockStateMachine({ limits: { electionTimeoutMs: 100, valueBytesMax: 32 } });
    const proposal = (valueBytesMax: number) =>
      new LockStateMachine({ limits: { electionTimeoutMs: 100, valueBytesMax } }).limitsProposal()!;
    table.apply(1, proposal(64));
    const { handler, seen } = setup(heldBy("x"), table);
    const release = (value: string) =>
      handler.handle({ type: "release", id: 1, key: "jobs/a", value }, context(ci));
    await release("v".repeat(40)); // 2 + 1 + 40 ≤ 64
    expect(seen).toHaveLength(1);
    table.apply(2, proposal(16));
    await expect(release("v".repeat(14))).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "value",
      message: expect.stringContaining("at most 13 bytes"),
    });
    expect(seen).toHaveLength(1);
  });

  it("shows a value to its principal and admins only; an unbound one to admins only", async () => {
    const get = { type: "get", id: 1, key: "jobs/a" } as const;
    const bound = setup(heldBy("ci\u0000v")).handler;
    expect(await bound.handle(get, context(ci))).toMatchObject({ value: "v", fencingToken: 7 });
    expect(await bound.handle(get, context(ops))).toMatchObject({ value: "v" });
    expect(await bound.handle(get, context(reader))).toMatchObject({
      value: null,
      fencingToken: 7,
      held: true,
    });
    const plain = setup(heldBy("ci-v")).handler;
    expect(await plain.handle(get, context(ci))).toMatchObject({ value: null });
    expect(await plain.handle(get, context(ops))).toMatchObject({ value: "ci-v" });
  });

  it("force-releases exactly the grant it read, and nothing when --token names another", async () => {
    const { handler, seen } = setup(heldBy("ci\u0000v"));
    expect(
      await handler.handle({ type: "forceRelease", id: 1, key: "jobs/a" }, context(ops)),
    ).toEqual({
      released: true,
      fencingToken: 7,
    });
    expect(seen[1]).toEqual({
      type: "release",
      id: 1,
      key: "jobs/a",
      value: "ci\u0000v",
      token: 7,
    });
    expect(
      await handler.handle({ type: "forceRelease", id: 2, key: "jobs/a", token: 6 }, context(ops)),
    ).toEqual({ released: false, fencingToken: null });
    expect(seen.filter((r) => r.type === "release")).toHaveLength(1);
  });

  const permitsHeld: GetResult = {
    held: true,
    value: null,
    fencingToken: 9,
    ttlRemainingMs: 900,
    waiters: 0,
    semaphore: {
      permits: 3,
      held: 3,
      holders: [
        { value: "ci\u0000a", fencingToken: 8, count: 2, ttlRemainingMs: 800 },
        { value: "ops\u0000b", fencingToken: 9, count: 1, ttlRemainingMs: 900 },
      ],
    },
  };

  it("shows each semaphore holder's value to its principal and admins only", async () => {
    const { handler } = setup(permitsHeld);
    const get = { type: "get", id: 1, key: "jobs/s" } as const;
    const values = async (principal: Principal) =>
      ((await handler.handle(get, context(principal))) as GetResult).semaphore?.holders.map(
        (h) => h.value,
      );
    expect(await values(ci)).toEqual(["a", null]);
    expect(await values(reader)).toEqual([null, null]);
    expect(await values(ops)).toEqual(["a", "b"]);
  });

  it("force-releases every holder of a semaphore's key, or those of --token", async () => {
    const all = setup(permitsHeld);
    expect(
      await all.handler.handle({ type: "forceRelease", id: 1, key: "jobs/s" }, context(ops)),
    ).toEqual({
      released: true,
      fencingToken: 9,
      semaphore: { permitsFreed: 3, fencingTokens: [8, 9] },
    });
    expect(all.seen.filter((r) => r.type === "release")).toEqual([
      { type: "release", id: 1, key: "jobs/s", value: "ci\u0000a", token: 8 },
      { type: "release", id: 1, key: "jobs/s", value: "ops\u0000b", token: 9 },
    ]);
    const one = setup(permitsHeld);
    expect(
      await one.handler.handle(
        { type: "forceRelease", id: 2, key: "jobs/s", token: 8 },
        context(ops),
      ),
    ).toEqual({
      released: true,
      fencingToken: 8,
      semaphore: { permitsFreed: 2, fencingTokens: [8] },
    });
    expect(one.seen.filter((r) => r.type === "release")).toHaveLength(1);
  });
});
