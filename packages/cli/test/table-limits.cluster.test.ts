// The replicated table limits as a client meets them, on a real cluster started with small ones:
// a full table is the typed LOCKS_FULL at once (not retried into "no leader answered"), and a
// semaphore with more permits than --semaphore-permits-max is an INVALID_ARGUMENT naming --permits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Locker, LocksFullError } from "@dlock/client";
import { runDlock, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";

let test: TestCluster;
let locker: Locker;

beforeAll(async () => {
  test = await startTestCluster("limits", ["--locks-max", "2", "--semaphore-permits-max", "4"]);
  locker = new Locker({ endpoints: test.cluster.endpoints() });
});

afterAll(async () => {
  await locker?.close();
  await test?.stop();
});

describe("table limits", () => {
  it("a full table refuses a new key with LOCKS_FULL, and keys in it still work", async () => {
    const a = await locker.acquire("full/a", "v", { ttl: "5m" });
    await locker.acquire("full/b", "v", { ttl: "5m" });
    await expect(locker.acquire("full/c", "v", { ttl: "5m" })).rejects.toBeInstanceOf(
      LocksFullError,
    );
    const cli = await runDlock(["acquire", "full/c", "v", "--timeout", "60s"], test.env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("LOCKS_FULL");
    expect(cli.stderr).toContain("--locks-max");
    expect(cli.stderr).not.toContain("no leader answered");
    // A key already in the table is not a new key.
    expect((await locker.acquire("full/a", "v", { ttl: "5m" })).fencingToken).toBe(a.fencingToken);
    await locker.release("full/a", "v");
    await locker.release("full/b", "v");
    expect((await locker.acquire("full/c", "v", { ttl: "5m" })).fencingToken).toBeGreaterThan(0);
    await locker.release("full/c", "v");
  });

  it("a semaphore beyond --semaphore-permits-max is refused, naming --permits", async () => {
    const cli = await runDlock(["acquire", "pool", "w", "--permits", "5"], test.env);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^dlock acquire: --permits: .*\[1, 4\]/);
    const ok = await runDlock(["acquire", "pool", "w", "--permits", "4", "--json"], test.env);
    expect(ok.code).toBe(0);
    expect((await runDlock(["release", "pool", "w"], test.env)).code).toBe(0);
  });
});
