// Issue #10: three real `dlock server` processes with an auth file. Before it, any client could
// read a holder's value with `get`, take the lock over (acquire with that value returned the
// holder's token and extended its lease; release freed it) and change the membership. Here a
// client without rights on a key is refused, another principal with rights on the same prefix
// who replays the value is another holder, `get` hides the value, bad credentials are refused at
// the handshake, membership changes are admin only, and an admin's force release is logged.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LockBusyError,
  Locker,
  NotOwnerError,
  PermissionDeniedError,
  UnauthenticatedError,
} from "@dlock/client";
import type { LockerOptions } from "@dlock/client";
import { generateAuthToken, hashAuthToken } from "@dlock/server";
import { runInProcess } from "../support/run-in-process.js";
import { startTestCluster, TTL_FLOOR_MS } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { sleep, waitFor } from "./support/wait.js";

/** Long enough that no lease in these tests expires on its own while they look at it. */
const TTL_MS = 60_000;

const GRANTS: Record<string, string> = {
  alice: "lock:jobs/*",
  mallory: "lock:jobs/*", // same scope as alice: may lock jobs/*, but not alice's grant
  outsider: "lock:billing/*",
  reader: "read:*",
  ops: "admin",
};
const tokens: Record<string, string> = {};

let test: TestCluster;
let authDir: string;
const lockers: Locker[] = [];

function locker(principal: string | null, extra: Partial<LockerOptions> = {}): Locker {
  const options: LockerOptions = {
    endpoints: test.cluster.endpoints(),
    unavailableTimeoutMs: 20_000,
    ...extra,
  };
  if (principal !== null) options.authToken = tokens[principal];
  const created = new Locker(options);
  lockers.push(created);
  return created;
}

beforeAll(async () => {
  const lines = ["# principal  token-hash  grants"];
  for (const [name, grants] of Object.entries(GRANTS)) {
    tokens[name] = generateAuthToken();
    lines.push(`${name} ${hashAuthToken(tokens[name])} ${grants}`);
  }
  // The file lives outside the cluster root, which does not exist yet: write it first.
  authDir = await mkdtemp(join(tmpdir(), "dlock-e2e-auth-file-"));
  const authFile = join(authDir, "auth");
  await writeFile(authFile, `${lines.join("\n")}\n`, { mode: 0o600 });
  test = await startTestCluster("auth", {
    extraArgs: ["--shutdown-timeout", "1s", "--auth-file", authFile],
  });
});

afterAll(async () => {
  await Promise.all(lockers.map((l) => l.close()));
  await test?.dispose();
  if (authDir !== undefined) await rm(authDir, { recursive: true, force: true });
});

describe("a cluster with an auth file", () => {
  it("refuses a missing or unknown token at the handshake with UNAUTHENTICATED (CLI exit 6)", async () => {
    const unknown = locker(null, { authToken: generateAuthToken() });
    await expect(unknown.get("jobs/x")).rejects.toBeInstanceOf(UnauthenticatedError);
    const none = locker(null);
    await expect(none.status()).rejects.toBeInstanceOf(UnauthenticatedError);

    const run = await runInProcess([
      "get",
      "jobs/x",
      "--endpoints",
      test.cluster.endpoints().join(","),
      "--auth-token",
      "dlk_not-a-token-of-this-cluster",
    ]);
    expect(run.code).toBe(6);
    expect(run.stderr).toContain("auth token");
  });

  it("keeps a lock with its holder when others replay the holder's value", async () => {
    const alice = locker("alice");
    const grant = await alice.acquire("jobs/replay", "alice-v", { ttl: TTL_MS });
    const token = grant.fencingToken;

    // No rights on jobs/*: refused before anything is proposed.
    const outsider = locker("outsider");
    await expect(outsider.acquire("jobs/replay", "alice-v", { ttl: TTL_MS })).rejects.toMatchObject(
      { code: "PERMISSION_DENIED", operation: "acquire", key: "jobs/replay" },
    );
    await expect(outsider.release("jobs/replay", "alice-v", { token })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    await expect(outsider.release("jobs/replay", "alice-v")).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );

    // Rights on jobs/*, but the grant is alice's: the same value names another holder.
    const mallory = locker("mallory");
    await expect(mallory.acquire("jobs/replay", "alice-v", { ttl: TTL_MS })).rejects.toBeInstanceOf(
      LockBusyError,
    );
    expect(await mallory.release("jobs/replay", "alice-v", { token })).toEqual({ released: false });
    expect(await mallory.release("jobs/replay", "alice-v")).toEqual({ released: false });

    // Still alice's, with the same token.
    const after = await alice.get("jobs/replay");
    expect(after).toMatchObject({ held: true, value: "alice-v", fencingToken: token });
    expect(await alice.release("jobs/replay", "alice-v", { token })).toEqual({ released: true });
  });

  it("refuses a refresh of another principal's grant (a lock handle's refresh path)", async () => {
    const alice = locker("alice");
    const lock = await alice.lock("jobs/refresh", "alice-v", { ttl: TTL_MS });
    const outsider = locker("outsider");
    const mallory = locker("mallory");
    // Locker has no public refresh by (value, token); the wire request is what a replayer sends.
    const refresh = (who: Locker) =>
      (
        who as unknown as {
          router: { call(r: object, o: object): Promise<unknown> };
        }
      ).router.call(
        {
          type: "refresh",
          key: "jobs/refresh",
          value: "alice-v",
          token: lock.fencingToken,
          ttlMs: TTL_MS,
        },
        { deadlineMs: performance.now() + 20_000 },
      );
    await expect(refresh(outsider)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(refresh(mallory)).rejects.toBeInstanceOf(NotOwnerError);
    expect(await alice.get("jobs/refresh")).toMatchObject({
      held: true,
      fencingToken: lock.fencingToken,
    });
    expect((await lock.release()).released).toBe(true);
  });

  it("lets a holder's own refreshes (bound like its acquire) keep its lock past several TTLs", async () => {
    const alice = locker("alice");
    const lock = await alice.lock("jobs/kept", "alice-v", { ttl: TTL_FLOOR_MS });
    await sleep(4 * TTL_FLOOR_MS);
    expect(lock.signal.aborted).toBe(false);
    expect(await alice.get("jobs/kept")).toMatchObject({
      held: true,
      value: "alice-v",
      fencingToken: lock.fencingToken,
    });
    expect((await lock.release()).released).toBe(true);
  });

  it("shows the holder's value only to the principal that holds it and to admins", async () => {
    const alice = locker("alice");
    const grant = await alice.acquire("jobs/secret", "alice-secret-v", { ttl: TTL_MS });
    const expected = { held: true, fencingToken: grant.fencingToken, waiters: 0 };
    expect(await alice.get("jobs/secret")).toMatchObject({ ...expected, value: "alice-secret-v" });
    expect(await locker("ops").get("jobs/secret")).toMatchObject({
      ...expected,
      value: "alice-secret-v",
    });
    expect(await locker("reader").get("jobs/secret")).toMatchObject({ ...expected, value: null });
    expect(await locker("mallory").get("jobs/secret")).toMatchObject({ ...expected, value: null });
    await expect(locker("outsider").get("jobs/secret")).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );

    const run = await runInProcess([
      "get",
      "jobs/secret",
      "--json",
      "--endpoints",
      test.cluster.endpoints().join(","),
      "--auth-token",
      tokens.reader,
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ held: true, value: null });
    expect(run.stdout).not.toContain("alice-secret-v");
  });

  it("lets only admins change the membership (members may be listed)", async () => {
    for (const name of ["alice", "reader"]) {
      const who = locker(name);
      await expect(who.removeMember("n3")).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
        operation: "removeMember",
      });
      await expect(who.addMember("n9", "127.0.0.1:1")).rejects.toBeInstanceOf(
        PermissionDeniedError,
      );
      await expect(who.promoteMember("n2")).rejects.toBeInstanceOf(PermissionDeniedError);
    }
    const members = await locker("reader").members();
    expect(members.members.map((m) => [m.id, m.kind]).sort()).toEqual([
      ["n1", "voter"],
      ["n2", "voter"],
      ["n3", "voter"],
    ]);

    const run = await runInProcess([
      "member",
      "remove",
      "n3",
      "--endpoints",
      test.cluster.endpoints().join(","),
      "--auth-token",
      tokens.alice,
    ]);
    expect(run.code).toBe(7);
    expect(run.stderr).toContain("removeMember");
  });

  it("force-releases for an admin only, through the log, naming the token, audited on the leader", async () => {
    const alice = locker("alice");
    const grant = await alice.acquire("jobs/stuck", "alice-v", { ttl: TTL_MS });
    await expect(alice.forceRelease("jobs/stuck")).rejects.toMatchObject({
      code: "PERMISSION_DENIED",
      operation: "forceRelease",
    });
    expect(await alice.get("jobs/stuck")).toMatchObject({ held: true });

    const tokenFile = join(test.root, "ops.token");
    await writeFile(tokenFile, `${tokens.ops}\n`, { mode: 0o600 });
    const run = await runInProcess([
      "release",
      "--force",
      "jobs/stuck",
      "--json",
      "--endpoints",
      test.cluster.endpoints().join(","),
      "--auth-token-file",
      tokenFile,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      key: "jobs/stuck",
      released: true,
      fencingToken: grant.fencingToken,
    });
    expect(await alice.get("jobs/stuck")).toMatchObject({ held: false });
    // Gone for its holder too: its release finds nothing.
    expect(await alice.release("jobs/stuck", "alice-v", { token: grant.fencingToken })).toEqual({
      released: false,
    });

    // Logged by the node that served it, which only a leader does (a follower redirects).
    const audits = await waitFor("the force release audit line in a node's log", async () => {
      const found: Array<Record<string, unknown>> = [];
      for (const node of test.cluster.nodes) {
        for (const line of (await readFile(node.logFile, "utf8")).split("\n")) {
          if (!line.includes('"forceRelease"')) continue;
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.audit === "forceRelease" && entry.key === "jobs/stuck") found.push(entry);
        }
      }
      return found.length > 0 ? found : undefined;
    });
    expect(audits).toHaveLength(1);
    const audit = audits[0];
    const servedBy = test.cluster.nodes.find((n) => n.id === audit.node);
    expect(servedBy).toBeDefined();
    expect(audit).toMatchObject({
      principal: "ops",
      key: "jobs/stuck",
      token: grant.fencingToken,
      holder: "alice",
      released: true,
    });

    // A key that is not held: nothing to free, said so.
    expect(await locker("ops").forceRelease("jobs/stuck")).toEqual({
      released: false,
      fencingToken: null,
    });
  });

  it("reloads the auth file on SIGHUP, and keeps the old one when the new one is bad", async () => {
    const authFile = join(authDir, "auth");
    const original = await readFile(authFile, "utf8");
    const ids = test.cluster.nodes.map((node) => node.id);
    const logLines = async (id: string, text: string): Promise<string[]> =>
      (await readFile(test.cluster.node(id).logFile, "utf8"))
        .split("\n")
        .filter((line) => line.includes(text));
    const hangUpAll = () => {
      for (const id of ids) test.cluster.signal(id, "SIGHUP");
    };
    const reloads = async (count: number) => {
      for (const id of ids) {
        await waitFor(`reload ${count} logged on ${id}`, async () => {
          const lines = await logLines(id, "SIGHUP: reloaded the auth file");
          return lines.length >= count;
        });
      }
    };
    try {
      // carol is new, outsider is gone; line 3 of the bad file has no valid token hash.
      tokens.carol = generateAuthToken();
      const kept = original.split("\n").filter((line) => !line.startsWith("outsider "));
      const carolLine = `carol ${hashAuthToken(tokens.carol)} lock:jobs/*`;
      // mallory moves from jobs/* to billing/*.
      const moved = kept.map((line) =>
        line.startsWith("mallory ") ? line.replace("lock:jobs/*", "lock:billing/*") : line,
      );
      const good = [...moved.slice(0, 2), carolLine, ...moved.slice(2)].join("\n");
      const bad = [...kept.slice(0, 2), "carol sha256:not-a-hash lock:jobs/*", ...kept.slice(2)];
      // Connected before the reloads: checked again by the good one.
      const connectedOutsider = locker("outsider");
      await expect(connectedOutsider.get("billing/x")).resolves.toMatchObject({ held: false });
      const connectedMallory = locker("mallory");
      await expect(connectedMallory.get("jobs/x")).resolves.toMatchObject({ held: false });
      await writeFile(authFile, bad.join("\n"));
      hangUpAll();
      for (const id of ids) {
        const failed = await waitFor(`the failed reload logged on ${id}`, async () => {
          const lines = await logLines(id, "auth file reload failed");
          return lines.length > 0 ? lines : undefined;
        });
        expect(failed).toHaveLength(1);
        expect(failed[0]).toContain(`${authFile} line 3`);
      }
      // The old file stays in use: outsider still gets in, carol does not.
      await expect(locker("outsider").get("billing/x")).resolves.toMatchObject({ held: false });
      await expect(locker("carol").get("jobs/x")).rejects.toBeInstanceOf(UnauthenticatedError);

      await writeFile(authFile, good);
      hangUpAll();
      await reloads(1);
      const carol = locker("carol");
      const grant = await carol.acquire("jobs/carol", "carol-v", { ttl: TTL_MS });
      expect(await carol.release("jobs/carol", "carol-v", { token: grant.fencingToken })).toEqual({
        released: true,
      });
      await expect(locker("outsider").get("billing/x")).rejects.toBeInstanceOf(
        UnauthenticatedError,
      );
      // Its open connections were closed with UNAUTHENTICATED; it cannot get back in.
      await expect(connectedOutsider.get("billing/x")).rejects.toBeInstanceOf(UnauthenticatedError);
      // mallory's open connections use her new grants.
      await expect(connectedMallory.get("jobs/x")).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(connectedMallory.get("billing/x")).resolves.toMatchObject({ held: false });
      await expect(locker("alice").get("jobs/x")).resolves.toMatchObject({ held: false });
    } finally {
      await writeFile(authFile, original);
      hangUpAll();
      await reloads(2);
    }
  });
});
