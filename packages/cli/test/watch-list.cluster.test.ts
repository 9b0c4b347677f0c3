// Watch and list end to end on a real three-node cluster: a client watcher sees every change in
// committed order with no gap or duplicate across the leader's crash, and `dlock list` /
// `dlock watch` print the same facts for scripts.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import type { WatchEvent } from "@dlock/client";
import { DLOCK_BIN } from "@dlock/tools";
import { runDlock, runNodeScript, startTestCluster } from "./support/cluster.js";
import type { TestCluster } from "./support/cluster.js";
import { waitFor } from "./support/processes.js";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

let test: TestCluster;
let locker: Locker;

beforeAll(async () => {
  test = await startTestCluster("watch");
  locker = new Locker({ endpoints: test.cluster.endpoints() });
});

afterAll(async () => {
  await locker?.close();
  await test?.stop();
});

/** Collects a watch in the background until `stop` aborts. */
function collect(prefix: string, fromRevision: number) {
  const stop = new AbortController();
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (const event of locker.watch(prefix, {
      prefix: true,
      fromRevision,
      signal: stop.signal,
      pollMs: 1000,
    })) {
      events.push(event);
    }
  })();
  return { events, stop, done };
}

/** Checks that README.md shows `file` as written, runs it against the cluster, returns its output. */
async function runReadmeExample(file: string): Promise<string> {
  const example = join(REPO_ROOT, file);
  const [readme, text] = await Promise.all([
    readFile(join(REPO_ROOT, "README.md"), "utf8"),
    readFile(example, "utf8"),
  ]);
  expect(readme).toContain("```js\n" + text + "```\n");
  const run = await runNodeScript(example, test.env, REPO_ROOT);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return run.stdout;
}

const shape = (e: WatchEvent): string =>
  `${e.type} ${e.key} ${e.value ?? "-"}${e.token > 0 ? ` #${e.token}` : ""}`;

describe("watch and list", () => {
  it("a watcher from a list's revision sees every change in order across a leader crash", async () => {
    const before = await locker.list("w/");
    expect(before.locks).toEqual([]);
    const watch = collect("w/", before.revision + 1);
    const x = await locker.acquire("w/a", "x", { ttl: "5m" });
    const queued = locker.acquire("w/a", "y", { ttl: "5m", wait: "5m" });
    await waitFor("y queued", async () => ((await locker.get("w/a")).waiters === 1 ? true : null));
    const page = await locker.list("w/");
    expect(page.locks).toEqual([
      { key: "w/a", value: "x", fencingToken: x.fencingToken, waiters: ["y"], inLockDelay: false },
    ]);
    await locker.release("w/a", "x", { token: x.fencingToken });
    const y = await queued;
    await waitFor("4 events", () => (watch.events.length >= 4 ? true : null), 30_000);

    const leader = await test.cluster.waitForLeader(30_000);
    await test.cluster.kill(leader);
    // The next change commits under a new leader; the watcher follows it from where it was.
    const other = await locker.acquire("w/b", "z", { ttl: "5m" });
    await locker.release("w/a", "y", { token: y.fencingToken });
    await waitFor("6 events", () => (watch.events.length >= 6 ? true : null), 60_000);
    watch.stop.abort();
    await watch.done;

    expect(watch.events.map(shape)).toEqual([
      `granted w/a x #${x.fencingToken}`,
      "queued w/a y",
      `released w/a x #${x.fencingToken}`,
      `granted w/a y #${y.fencingToken}`,
      `granted w/b z #${other.fencingToken}`,
      `released w/a y #${y.fencingToken}`,
    ]);
    expect(watch.events).toHaveLength(6);
    // Revisions never go back, and a revision's events come together.
    for (let i = 1; i < watch.events.length; i++) {
      expect(watch.events[i]!.revision).toBeGreaterThanOrEqual(watch.events[i - 1]!.revision);
    }
    expect(watch.events[0]!.revision).toBe(x.fencingToken);
    expect(watch.events[2]!.revision).toBe(watch.events[3]!.revision);
    // The later tests use every node (the election test reads each one's /metrics): a node only
    // spawned may not listen yet on a loaded machine, which once failed that fetch with
    // ECONNREFUSED. Wait until it serves again.
    test.cluster.restart(leader);
    await test.cluster.waitForReady(60_000, [leader]);
  }, 180_000);

  it("dlock list and dlock watch --json print the locks and the events", async () => {
    const grant = await locker.acquire("cli/k", "v1", { ttl: "5m" });
    const listed = await runDlock(["list", "cli/", "--json"], test.env);
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { locks: unknown[]; revision: number; more: boolean };
    expect(page.locks).toEqual([
      {
        key: "cli/k",
        value: "v1",
        fencingToken: grant.fencingToken,
        waiters: [],
        inLockDelay: false,
      },
    ]);
    expect(page.more).toBe(false);
    expect(page.revision).toBeGreaterThanOrEqual(grant.fencingToken);

    const child = spawn(
      process.execPath,
      [DLOCK_BIN, "watch", "cli/", "--json", "--from-revision", String(grant.fencingToken)],
      { env: test.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    await locker.release("cli/k", "v1", { token: grant.fencingToken });
    await waitFor("two event lines", () => (stdout.split("\n").length > 2 ? true : null), 30_000);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
    const lines = stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as WatchEvent);
    expect(lines.map(shape)).toEqual([
      `granted cli/k v1 #${grant.fencingToken}`,
      `released cli/k v1 #${grant.fencingToken}`,
    ]);
  });

  it("campaign waits in line, leadership tokens grow, observe sees each leader once", async () => {
    const stop = new AbortController();
    const seen: Array<string | null> = [];
    const observing = (async () => {
      for await (const leader of locker.observe("svc", { signal: stop.signal })) {
        seen.push(leader === null ? null : `${leader.value}#${leader.fencingToken}`);
      }
    })();
    await waitFor("the first observation", () => (seen.length >= 1 ? true : null), 30_000);
    const a = await locker.campaign("svc", "A", { ttl: "1m" });
    const second = locker.campaign("svc", "B", { ttl: "1m" });
    await waitFor("B in line", async () =>
      (await locker.get("election/svc")).waiters === 1 ? true : null,
    );
    expect(a.state).toBe("held");
    await a.resign();
    const b = await second;
    expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
    await waitFor("4 observations", () => (seen.length >= 4 ? true : null), 30_000);
    await b.resign();
    await waitFor("5 observations", () => (seen.length >= 5 ? true : null), 30_000);
    stop.abort();
    await observing;
    expect(seen).toEqual([null, `A#${a.fencingToken}`, null, `B#${b.fencingToken}`, null]);
    // The leader applied both leaderships (followers may still be applying) and answered the watches.
    const figures = await Promise.all(
      test.cluster.nodes.map(async (node) => {
        const text = await (await fetch(`http://${node.httpAddress}/metrics`)).text();
        const figure = (name: string): number =>
          Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
        return {
          leaderships: figure("dlock_election_leaderships"),
          sent: figure("dlock_watch_events_sent"),
        };
      }),
    );
    const leadersNow = figures.filter((f) => f.leaderships >= 2);
    expect(leadersNow.length).toBeGreaterThanOrEqual(1);
    expect(figures.reduce((sum, f) => sum + f.sent, 0)).toBeGreaterThan(0);
  });

  it("dlock elect runs the command as leader with the leadership's token", async () => {
    const run = await runDlock(
      [
        "elect",
        "cli-svc",
        "me",
        "--",
        "sh",
        "-c",
        "echo token=$DLOCK_FENCING_TOKEN key=$DLOCK_LOCK_KEY",
      ],
      test.env,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^token=[1-9]\d* key=election\/cli-svc\n$/);
    expect((await locker.get("election/cli-svc")).held).toBe(false);
  });

  it("dlock elect names itself and the leadership in its errors, never dlock lock", async () => {
    const leader = await locker.campaign("cli-busy", "first", { ttl: "1m" });
    const busy = await runDlock(
      ["elect", "cli-busy", "second", "--wait", "1s", "--", "true"],
      test.env,
    );
    expect(busy.code).toBe(3);
    expect(busy.stderr).toMatch(/^dlock elect: /);
    expect(busy.stderr).not.toContain("dlock lock");
    await leader.resign();
    const usage = await runDlock(["elect", "cli-busy", "second"], test.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("dlock elect: give the command to run after --");
  });

  it("the README's election example (campaign, observe, resign) runs as shown", async () => {
    const stdout = await runReadmeExample("examples/election.mjs");
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect([lines[0], lines[2], lines[4]]).toEqual([
      "leader: nobody",
      "leader: nobody",
      "leader: nobody",
    ]);
    const alice = /^leader: alice, fencing token (\d+)$/.exec(lines[1]!)?.[1];
    const bob = /^leader: bob, fencing token (\d+)$/.exec(lines[3]!)?.[1];
    expect(Number(alice)).toBeGreaterThan(0);
    expect(Number(bob)).toBeGreaterThan(Number(alice));
  });

  it("the README's watch and election example runs as shown", async () => {
    const stdout = await runReadmeExample("examples/watch-elect.mjs");
    const token = /leading with fencing token (\d+)/.exec(stdout)?.[1];
    expect(Number(token)).toBeGreaterThan(0);
    expect(stdout).toMatch(
      new RegExp(
        `^0 lock\\(s\\) at revision \\d+\\nleading with fencing token ${token}\\n` +
          `granted worker-\\d+ token ${token}\\nreleased worker-\\d+ token ${token}\\n$`,
      ),
    );
  });
});
