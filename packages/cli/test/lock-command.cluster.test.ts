// `dlock lock KEY -- command` as real processes against a real three-node cluster (fsync on):
// mutual exclusion proven with a shared file, DLOCK_FENCING_TOKEN, the command's exit status,
// signal forwarding, and a lost lock that stops the command and exits 4.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runDlock, startDlock, startTestCluster } from "./support/cluster.js";
import type { DlockResult, TestCluster } from "./support/cluster.js";
import { processExists, readWhenWritten, waitFor } from "./support/processes.js";

let test: TestCluster;
let dir: string;

beforeAll(async () => {
  test = await startTestCluster("lock");
});

afterAll(async () => {
  await test?.stop();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dlock-lock-work-"));
  return () => rm(dir, { recursive: true, force: true });
});

/** The environment of `dlock lock`, and so of its command: the cluster and the work folder. */
const env = (): NodeJS.ProcessEnv => ({ ...test.env, WORK: dir });

async function lockState(key: string): Promise<Record<string, unknown>> {
  const result = await runDlock(["get", key, "--json"], test.env);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/**
 * The critical section: `mkdir` is atomic, so a second command inside at the same time fails to
 * create the marker and records the overlap. Each run appends start/end lines with its token.
 */
const CRITICAL_SECTION = `
mkdir "$WORK/inside" 2>/dev/null || echo "overlap $DLOCK_FENCING_TOKEN" >> "$WORK/log"
echo "start $DLOCK_FENCING_TOKEN $DLOCK_LOCK_KEY" >> "$WORK/log"
sleep 0.3
echo "end $DLOCK_FENCING_TOKEN" >> "$WORK/log"
rmdir "$WORK/inside"
`;

describe("dlock lock", () => {
  it("runs concurrent commands one at a time, each with a greater DLOCK_FENCING_TOKEN", async () => {
    // Two queue (--wait), two poll (--retry-limit): all four start at once.
    const runs = [
      ["--wait", "30s"],
      ["--retry-interval", "100ms", "--retry-limit", "300"],
      ["--wait", "30s"],
      ["--retry-interval", "100ms", "--retry-limit", "300"],
    ].map((flags) =>
      startDlock(["lock", "shared", ...flags, "--", "sh", "-c", CRITICAL_SECTION], env()),
    );
    const results = await Promise.all(runs.map((run) => run.done));
    for (const result of results) {
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    }
    const lines = (await readFile(join(dir, "log"), "utf8")).trimEnd().split("\n");
    expect(lines.filter((line) => line.startsWith("overlap"))).toStrictEqual([]);
    expect(lines).toHaveLength(8);
    const tokens: number[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      // Each start is followed by its own end: nobody else was inside in between.
      const start = /^start (\d+) shared$/.exec(lines[i]);
      expect(start, lines[i]).not.toBeNull();
      expect(lines[i + 1]).toBe(`end ${start![1]}`);
      tokens.push(Number(start![1]));
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
    expect((await lockState("shared")).held).toBe(false);
  });

  it("exits with the command's status and releases the lock", async () => {
    const failed = await runDlock(["lock", "status-key", "--", "sh", "-c", "exit 7"], env());
    expect(failed).toMatchObject({ code: 7, stderr: "" });
    expect((await lockState("status-key")).held).toBe(false);

    const killed = await runDlock(["lock", "status-key", "--", "sh", "-c", "kill -TERM $$"], env());
    expect(killed).toMatchObject({ code: 128 + 15, stderr: "" });
    expect((await lockState("status-key")).held).toBe(false);

    const ok = await runDlock(
      ["lock", "status-key", "--", "sh", "-c", 'echo "token=$DLOCK_FENCING_TOKEN"'],
      env(),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^token=\d+\n$/);
  });

  it("passes the holder value: --value / DLOCK_VALUE, else host:pid:random", async () => {
    const show = ["--", "sh", "-c", 'echo "$DLOCK_LOCK_KEY $DLOCK_LOCK_VALUE"'];
    const given = await runDlock(["lock", "value-key", ...show], {
      ...env(),
      DLOCK_VALUE: "job-7",
    });
    expect(given).toMatchObject({ code: 0, stdout: "value-key job-7\n" });
    const generated = await runDlock(["lock", "value-key", ...show], env());
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^value-key [^:\s]+:\d+:[0-9a-f]{8}\n$/);
  });

  it("keeps the lock refreshed while the command runs longer than the ttl", async () => {
    const run = startDlock(
      [
        "lock",
        "long-key",
        // 2 s rather than the 1 s minimum: a loaded machine may stall a refresh for a while.
        "--ttl",
        "2s",
        "--",
        "sh",
        "-c",
        'echo "$DLOCK_FENCING_TOKEN" > "$WORK/token"; while [ ! -e "$WORK/go" ]; do sleep 0.05; done',
      ],
      env(),
    );
    const token = Number(
      await waitFor("the command to start", () => readWhenWritten(join(dir, "token"))),
    );
    // Let two ttls and more pass: only refreshes keep the lock held.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(await lockState("long-key")).toMatchObject({ held: true, fencingToken: token });
    const other = await runDlock(["acquire", "long-key", "someone-else", "--ttl", "5s"], test.env);
    expect(other.code).toBe(3);
    await writeFile(join(dir, "go"), "");
    expect(await run.done).toMatchObject({ code: 0, stderr: "" });
    expect((await lockState("long-key")).held).toBe(false);
  });

  it("exits 1 when the command cannot be started, and releases the lock", async () => {
    const result = await runDlock(["lock", "missing-cmd", "--", "/nonexistent/command"], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^dlock lock: cannot run "\/nonexistent\/command": .*ENOENT/);
    expect((await lockState("missing-cmd")).held).toBe(false);
  });

  it("exits 3 without running the command when the lock is busy", async () => {
    const held = await runDlock(["acquire", "busy-key", "someone", "--ttl", "20s"], test.env);
    expect(held.code).toBe(0);
    const result = await runDlock(
      ["lock", "busy-key", "--", "sh", "-c", 'touch "$WORK/ran"'],
      env(),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^dlock lock: lock "busy-key" is held by another holder/);
    expect(await readWhenWritten(join(dir, "ran"))).toBeNull();
    await runDlock(["release", "busy-key", "someone"], test.env);
  });

  it("forwards SIGTERM to the command, waits for it, releases, and exits with its status", async () => {
    const run = startDlock(
      [
        "lock",
        "signal-key",
        "--",
        "sh",
        "-c",
        'trap \'echo got-term > "$WORK/term"; exit 9\' TERM; echo ready > "$WORK/ready"; while :; do sleep 0.05; done',
      ],
      env(),
    );
    await waitFor("the command to start", () => readWhenWritten(join(dir, "ready")));
    process.kill(run.pid, "SIGTERM");
    const result = await run.done;
    expect(result.code).toBe(9);
    // The shell may report its sleep "Terminated" (the whole group got SIGTERM); dlock says nothing.
    expect(result.stderr).not.toContain("dlock");
    expect(await readWhenWritten(join(dir, "term"))).toBe("got-term");
    expect((await lockState("signal-key")).held).toBe(false);
  });

  it("stops the command (SIGTERM, then SIGKILL) and exits 4 when the lock is lost", async () => {
    // The command ignores SIGTERM (and so does its background sleep, which inherits that), so
    // only the SIGKILL that follows --kill-after ends them.
    const run = startDlock(
      [
        "lock",
        "lost-key",
        "--ttl",
        "1s",
        "--kill-after",
        "500ms",
        "--",
        "sh",
        "-c",
        'trap "" TERM; echo "$DLOCK_FENCING_TOKEN" > "$WORK/token"; sleep 60 >/dev/null 2>&1 & echo $! > "$WORK/bg"; echo $$ > "$WORK/sh"; wait; wait',
      ],
      env(),
    );
    const background = Number(
      await waitFor("the command to start", () => readWhenWritten(join(dir, "bg"))),
    );
    const shell = Number(await waitFor("the shell's pid", () => readWhenWritten(join(dir, "sh"))));
    const firstToken = Number(await readWhenWritten(join(dir, "token")));
    // A frozen `dlock lock` cannot refresh: the cluster frees the lock after its ttl and hands
    // it to the next client. The command keeps running meanwhile; that is what the loss reports.
    process.kill(run.pid, "SIGSTOP");
    const next = await runDlock(
      ["acquire", "lost-key", "next-holder", "--ttl", "20s", "--wait", "20s", "--json"],
      test.env,
    );
    expect(next.code).toBe(0);
    const nextToken = (JSON.parse(next.stdout) as { fencingToken: number }).fencingToken;
    expect(nextToken).toBeGreaterThan(firstToken);
    process.kill(run.pid, "SIGCONT");

    const result: DlockResult = await run.done;
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      new RegExp(
        `^dlock lock: lock "lost-key" lost: .*\\(fencing token ${firstToken}\\); stopping the command \\(SIGTERM to its process group, SIGKILL after 500ms\\)`,
      ),
    );
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    await waitFor("the command's processes to be gone", () =>
      processExists(shell) || processExists(background) ? null : true,
    );
    // The loser's release is scoped to its own grant: the new holder keeps the lock.
    expect(await lockState("lost-key")).toMatchObject({
      held: true,
      value: "next-holder",
      fencingToken: nextToken,
    });
    await runDlock(["release", "lost-key", "next-holder"], test.env);
  });
});
