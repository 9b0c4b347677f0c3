// acquire, release, get and status as separate processes against a real three-node cluster
// (fsync on): the JSON shapes and exit codes of docs/design.md §1 that scripts rely on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@dlock/tools";
import { runDlock, startDlock, startTestCluster } from "./support/cluster.js";
import type { DlockResult, TestCluster } from "./support/cluster.js";
import { waitFor } from "./support/processes.js";

let test: TestCluster;

beforeAll(async () => {
  test = await startTestCluster("commands");
});

afterAll(async () => {
  await test?.stop();
});

const dlock = (...args: string[]): Promise<DlockResult> => runDlock(args, test.env);

function json(result: DlockResult): Record<string, unknown> {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const lines = result.stdout.trimEnd().split("\n");
  expect(lines).toHaveLength(1); // One JSON object on one line.
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

describe("dlock status", () => {
  it("--json: leader, term and every member with role, term, indexes and health", async () => {
    const status = json(await dlock("status", "--json"));
    expect(Object.keys(status).sort()).toStrictEqual(["leader", "members", "tableLimits", "term"]);
    // The limits in force, replicated by the first leader (the test cluster runs default flags).
    expect(status.tableLimits).toMatchObject({
      waitersPerKeyMax: 256,
      semaphorePermitsMax: 1024,
      replicated: true,
      configuredDiffers: false,
    });
    const members = status.members as Array<Record<string, unknown>>;
    expect(members.map((m) => m.id).sort()).toStrictEqual(["n1", "n2", "n3"]);
    for (const member of members) {
      expect(member).toMatchObject({
        id: expect.any(String),
        role: expect.any(String),
        term: expect.any(Number),
        commitIndex: expect.any(Number),
        appliedIndex: expect.any(Number),
        healthy: expect.any(Boolean),
      });
      expect(member.appliedIndex as number).toBeLessThanOrEqual(member.commitIndex as number);
    }
    const leaders = members.filter((m) => m.role === "leader");
    expect(leaders).toHaveLength(1);
    expect(status.leader).toBe(leaders[0].id);
    expect(status.term).toBe(leaders[0].term);
    expect(status.term as number).toBeGreaterThanOrEqual(1);
  });

  it("shows the leader's view whichever member it asks (a follower knows only its own indexes)", async () => {
    for (const node of test.cluster.nodes) {
      const status = json(await dlock("status", "--json", "--endpoints", node.clientAddress));
      const members = status.members as Array<Record<string, unknown>>;
      expect(members.map((m) => m.role).sort()).toStrictEqual(["follower", "follower", "leader"]);
      for (const member of members) {
        expect(member.term).toBe(status.term);
        expect(member.commitIndex as number).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it("text: the leader and a table of the members", async () => {
    const result = await dlock("status");
    expect(result.code).toBe(0);
    const [header, columns, ...rows] = result.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^leader: n[123] \(term \d+\)$/);
    expect(columns).toMatch(/^ID +ROLE +TERM +COMMIT +APPLIED +HEALTHY +CLIENT$/);
    expect(rows).toHaveLength(3);
    for (const node of test.cluster.nodes) {
      const row = rows.find((line) => line.startsWith(`${node.id} `));
      // Health is the leader's recent view: on a loaded machine a follower may lag a moment.
      expect(row).toMatch(
        new RegExp(` +(leader|follower) +\\d+ +\\d+ +\\d+ +(yes|no) +${node.clientAddress}$`),
      );
    }
  });
});

describe("acquire, get, release", () => {
  it("acquire --json prints key, value, fencingToken and ttlMs; a second holder gets exit 3", async () => {
    const acquired = json(await dlock("acquire", "jobs/a", "holder-1", "--ttl", "20s", "--json"));
    expect(Object.keys(acquired).sort()).toStrictEqual(["fencingToken", "key", "ttlMs", "value"]);
    expect(acquired).toMatchObject({ key: "jobs/a", value: "holder-1", ttlMs: 20_000 });
    expect(acquired.fencingToken as number).toBeGreaterThan(0);

    const busy = await dlock("acquire", "jobs/a", "holder-2", "--ttl", "20s", "--json");
    expect(busy.code).toBe(3);
    expect(busy.stdout).toBe("");
    expect(busy.stderr).toMatch(/^dlock acquire: lock "jobs\/a" is held by another holder/);
    expect(busy.stderr).toContain("--wait");

    // The same value again is not busy: it refreshes the grant it holds (same token).
    const again = json(await dlock("acquire", "jobs/a", "holder-1", "--ttl", "20s", "--json"));
    expect(again.fencingToken).toBe(acquired.fencingToken);

    const got = json(await dlock("get", "jobs/a", "--json"));
    expect(Object.keys(got).sort()).toStrictEqual(
      ["fencingToken", "held", "key", "ttlRemainingMs", "value", "waiters"].sort(),
    );
    expect(got).toMatchObject({
      key: "jobs/a",
      held: true,
      value: "holder-1",
      fencingToken: acquired.fencingToken,
      waiters: 0,
    });
    expect(got.ttlRemainingMs as number).toBeGreaterThan(0);
    expect(got.ttlRemainingMs as number).toBeLessThanOrEqual(20_000);

    // Scoped to the token: another grant's number releases nothing.
    const wrongToken = json(
      await dlock(
        "release",
        "jobs/a",
        "holder-1",
        "--token",
        String((acquired.fencingToken as number) + 1000),
        "--json",
      ),
    );
    expect(wrongToken).toStrictEqual({ key: "jobs/a", value: "holder-1", released: false });
    const released = json(
      await dlock(
        "release",
        "jobs/a",
        "holder-1",
        "--token",
        String(acquired.fencingToken),
        "--json",
      ),
    );
    expect(released).toStrictEqual({ key: "jobs/a", value: "holder-1", released: true });
    // Releasing what is not held is reported, and still exit 0.
    const notHeld = await dlock("release", "jobs/a", "holder-1");
    expect(notHeld.code).toBe(0);
    expect(notHeld.stdout).toBe('"jobs/a" was not held by "holder-1": nothing changed\n');

    expect(json(await dlock("get", "jobs/a", "--json"))).toStrictEqual({
      key: "jobs/a",
      held: false,
      value: null,
      fencingToken: null,
      ttlRemainingMs: null,
      waiters: 0,
    });

    // Text output: the token alone, then a greater one for the next grant.
    const next = await dlock("acquire", "jobs/a", "holder-2", "--ttl", "20s");
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/^\d+\n$/);
    expect(Number(next.stdout)).toBeGreaterThan(acquired.fencingToken as number);
    const text = await dlock("get", "jobs/a");
    expect(text.stdout).toContain("held:      yes\nvalue:     holder-2\n");
    const releasedText = await dlock("release", "jobs/a", "holder-2");
    expect(releasedText.stdout).toBe('released "jobs/a" (held by "holder-2")\n');
  });

  it("--retry-limit N gives up with exit 3 after N+1 attempts", async () => {
    json(await dlock("acquire", "jobs/b", "holder-1", "--ttl", "20s", "--json"));
    const busy = await dlock(
      "acquire",
      "jobs/b",
      "holder-2",
      "--retry-limit",
      "2",
      "--retry-interval",
      "50ms",
    );
    expect(busy.code).toBe(3);
    expect(busy.stderr).toContain("(gave up after 3 attempts)");
    json(await dlock("release", "jobs/b", "holder-1", "--json"));
  });

  it("--wait queues for a busy lock and gets it, with a greater token, when it is released", async () => {
    const first = json(await dlock("acquire", "jobs/c", "holder-1", "--ttl", "20s", "--json"));
    const waiting = startDlock(
      ["acquire", "jobs/c", "holder-2", "--ttl", "20s", "--wait", "30s", "--json"],
      test.env,
    );
    await waitFor("the second acquire to queue", async () => {
      const got = json(await dlock("get", "jobs/c", "--json"));
      return got.waiters === 1 ? true : null;
    });
    json(await dlock("release", "jobs/c", "holder-1", "--json"));
    const second = json(await waiting.done);
    expect(second.value).toBe("holder-2");
    expect(second.fencingToken as number).toBeGreaterThan(first.fencingToken as number);
    json(await dlock("release", "jobs/c", "holder-2", "--json"));
  });

  it("flags come from their environment variables", async () => {
    const env = { ...test.env, DLOCK_TTL: "7s", DLOCK_JSON: "1" };
    const acquired = json(await runDlock(["acquire", "jobs/d", "holder-1"], env));
    expect(acquired.ttlMs).toBe(7_000);
    const plain = await runDlock(["release", "jobs/d", "holder-1"], { ...env, DLOCK_JSON: "0" });
    expect(plain.stdout).toBe('released "jobs/d" (held by "holder-1")\n');
  });
});

describe("exit codes", () => {
  it("2 for usage errors, before anything is sent", async () => {
    const badTtl = await dlock("acquire", "k", "v", "--ttl", "soon");
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toMatch(/^dlock acquire: --ttl: "soon" is not a duration/);
    const missing = await dlock("release", "k");
    expect(missing.code).toBe(2);
    // <value> is optional for release --force only: without it the command says so.
    expect(missing.stderr).toMatch(/^dlock release: missing <value> \(or --force, admin only\)/);
    // A TTL under the cluster's minimum is refused by the cluster: a usage error too.
    const short = await dlock("acquire", "k", "v", "--ttl", "10ms");
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^dlock acquire: --ttl: must be between \d+ and \d+ ms/);
  });

  it("5 when nothing answers within --timeout", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const result = await dlock("get", "k", "--endpoints", dead, "--timeout", "500ms");
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      new RegExp(
        `^dlock get: no leader answered within 500ms from ${dead} .*is the cluster running`,
      ),
    );
  });

  it("5, pointing at --cluster-id, when the cluster is another one", async () => {
    const result = await dlock("status", "--cluster-id", "not-this-one", "--timeout", "500ms");
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/does not match .*: check --cluster-id \(DLOCK_CLUSTER_ID\)\n$/);
  });
});
