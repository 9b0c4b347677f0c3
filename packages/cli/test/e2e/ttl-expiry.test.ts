// Issue 3, "what it must show" #2: a holder that stops refreshing (its process is SIGSTOPped, or
// killed with SIGKILL) loses the lock within its TTL (plus one election at most); the next client
// gets it with a larger token. The paused client, once resumed, reports the loss on its own
// (signal and onLost, decided on its own clock, without waiting for the cluster), and its late
// release cannot free the new holder's lock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import { ELECTION_TIMEOUT_MS, startTestCluster, TTL_FLOOR_MS } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { startFixtureClient } from "./support/fixture-client.js";
import type { FixtureClient } from "./support/fixture-client.js";

/**
 * Bound on how long after the holder stopped the next client is granted: the lease (measured
 * from the last refresh, which came before the stop), two election timeouts, and a generous
 * allowance for commits and scheduling on a loaded machine.
 */
const GRANT_BOUND_SLACK_MS = 2 * ELECTION_TIMEOUT_MS + 3_000;

let test: TestCluster;
let locker: Locker;
const fixtures: FixtureClient[] = [];

beforeAll(async () => {
  test = await startTestCluster("ttl");
  locker = new Locker({ endpoints: test.cluster.endpoints() });
});

afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.kill();
});

afterAll(async () => {
  await locker?.close();
  await test?.dispose();
});

async function lockInFixture(
  key: string,
  ttlMs: number,
): Promise<{ fixture: FixtureClient; token: number }> {
  const fixture = await startFixtureClient({ endpoints: test.cluster.endpoints() });
  fixtures.push(fixture);
  const locked = await fixture.request(
    { op: "lock", key, value: "stopped-holder", options: { ttl: ttlMs } },
    "locked",
  );
  return { fixture, token: locked.token as number };
}

describe("TTL expiry of a holder that stops refreshing", () => {
  it("SIGSTOP: the next client gets the lock within the TTL; once resumed, the old holder has reported the loss and cannot release", async () => {
    const ttlMs = TTL_FLOOR_MS;
    const { fixture, token: oldToken } = await lockInFixture("paused", ttlMs);

    fixture.pause();
    const stoppedAt = performance.now();
    // Queue for it: granted by the expiry itself, no polling.
    const next = await locker.lock("paused", "next-holder", { ttl: ttlMs, wait: "30s" });
    const grantedAfterMs = performance.now() - stoppedAt;
    expect(next.fencingToken).toBeGreaterThan(oldToken);
    expect(grantedAfterMs).toBeLessThan(ttlMs + GRANT_BOUND_SLACK_MS);
    expect(await locker.get("paused")).toMatchObject({
      held: true,
      value: "next-holder",
      fencingToken: next.fencingToken,
    });

    const resumedFrom = fixture.events.length;
    fixture.resume();
    // Nothing is asked of it: it reports the loss by itself, through the signal and onLost.
    const bySignal = await fixture.waitForEvent(
      (e) => e.event === "lost-signal",
      15_000,
      resumedFrom,
    );
    const byCallback = await fixture.waitForEvent(
      (e) => e.event === "lost-callback",
      15_000,
      resumedFrom,
    );
    for (const lost of [bySignal, byCallback]) {
      expect(lost).toMatchObject({ code: "LOCK_LOST", token: oldToken });
      // Decided on its own clock (validity ran out), not told by the cluster after a round trip.
      expect(lost.message).toMatch(/validity/);
    }
    expect(await fixture.request({ op: "state" }, "state")).toMatchObject({
      state: "lost",
      signalAborted: true,
    });

    // Its release is scoped to its own grant: the new holder keeps the lock.
    const released = await fixture.request({ op: "release" }, "released");
    expect(released).toMatchObject({ released: false, lost: true, stateBefore: "lost" });
    expect(await locker.get("paused")).toMatchObject({
      held: true,
      value: "next-holder",
      fencingToken: next.fencingToken,
    });
    expect(next.isValid()).toBe(true);
    expect(await next.release()).toEqual({ released: true, lost: false });
  });

  it("SIGKILL: the lock stays held until its lease ends, then the next client gets it with a larger token", async () => {
    // A longer TTL so the check that the lock outlives its holder's process is not a race.
    const ttlMs = 4 * TTL_FLOOR_MS;
    const { fixture, token: oldToken } = await lockInFixture("killed", ttlMs);

    await fixture.kill();
    const killedAt = performance.now();
    // A dead connection does not release the lock: only the lease does (the holder may just be slow).
    expect(await locker.get("killed")).toMatchObject({
      held: true,
      value: "stopped-holder",
      fencingToken: oldToken,
    });
    const next = await locker.lock("killed", "next-holder", { ttl: TTL_FLOOR_MS, wait: "30s" });
    expect(performance.now() - killedAt).toBeLessThan(ttlMs + GRANT_BOUND_SLACK_MS);
    expect(next.fencingToken).toBeGreaterThan(oldToken);

    // The dead holder's release, replayed by anyone with its value and token, frees nothing.
    expect(await locker.release("killed", "stopped-holder", { token: oldToken })).toEqual({
      released: false,
    });
    expect(await locker.get("killed")).toMatchObject({
      held: true,
      value: "next-holder",
      fencingToken: next.fencingToken,
    });
    expect(await next.release()).toEqual({ released: true, lost: false });
  });
});
