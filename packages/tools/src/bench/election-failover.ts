// The election fail-over scenario of `pnpm bench`: candidates campaign from processes of their own
// (bench/campaigner.ts) on a running cluster; with one leading and the next queued, the bench
// kills something and measures the time from the kill to the next candidate's campaign()
// returning. Two ways, R rounds each:
//   process  SIGKILL the leading candidate's process. Its lease must run out, so the figure is
//            bound by the TTL: between 2/3 TTL and the TTL (the last refresh was up to TTL/3
//            earlier) plus a commit.
//   node     SIGKILL the Raft leader node while a candidate leads, and have that candidate resign
//            at the same moment (SIGTERM): the hand-off has to cross a Raft leader election and
//            the clients' reconnection, but no lease expiry. The node is restarted after the round.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Locker, electionKey, parseDuration } from "@dlock/client";
import type { LocalCluster } from "../local-cluster.js";
import { pollUntil } from "../poll-until.js";
import { summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export type FailoverKill = "process" | "node";

export interface FailoverOptions {
  cluster: LocalCluster;
  kill: FailoverKill;
  rounds: number;
  /** The candidates' lease, e.g. "3s". */
  ttl: string;
  log: (line: string) => void;
}

export interface FailoverReport {
  kill: FailoverKill;
  ttl: string;
  ttlMs: number;
  /** Milliseconds from the kill to the next leader's campaign() returning, per round. */
  failoverMs: number[];
  summaryMs: LatencySummary | null;
  /** Rounds that did not complete, with why. */
  errors: string[];
}

const CAMPAIGNER = join(dirname(fileURLToPath(import.meta.url)), "campaigner.js");
/** Beyond the TTL, how long a round may take on a loaded machine before it counts as failed. */
const ROUND_SLACK_MS = 60_000;

/** A candidate process and the line it prints when it leads. */
interface Candidate {
  child: ChildProcess;
  value: string;
  leading: Promise<{ token: number; atMs: number }>;
  exited: Promise<void>;
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function startCandidate(endpoints: string[], name: string, value: string, ttl: string): Candidate {
  const child = spawn(process.execPath, [CAMPAIGNER, endpoints.join(","), name, value, ttl], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const leading = new Promise<{ token: number; atMs: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      const parsed = JSON.parse(line) as { leading: number; atMs: number };
      resolve({ token: parsed.leading, atMs: parsed.atMs });
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`candidate ${value} exited (${signal ?? code}) before leading: ${stderr}`)),
    );
  });
  leading.catch(() => {}); // Awaited by the round; a candidate killed while leading is expected.
  return { child, value, leading, exited };
}

/** Runs the rounds of one kill mode on `options.cluster` (all nodes running) and reports. */
export async function runElectionFailover(options: FailoverOptions): Promise<FailoverReport> {
  const { cluster, kill, rounds, ttl, log } = options;
  const ttlMs = parseDuration(ttl, "ttl");
  const name = `bench-failover-${kill}`;
  const key = electionKey(name);
  const observer = new Locker({ endpoints: cluster.endpoints() });
  const candidates: Candidate[] = [];
  const failoverMs: number[] = [];
  const errors: string[] = [];
  const deadline = (what: string) => ({
    timeoutMs: ttlMs + ROUND_SLACK_MS,
    intervalMs: 50,
    timedOut: () => new Error(`${what}: not within ${ttlMs + ROUND_SLACK_MS} ms`),
  });
  const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(deadline(what).timedOut()), deadline(what).timeoutMs).unref(),
      ),
    ]);
  try {
    let leader = startCandidate(cluster.endpoints(), name, `${kill}-0`, ttl);
    candidates.push(leader);
    await withTimeout(leader.leading, "the first candidate leads");
    for (let round = 1; round <= rounds; round++) {
      const next = startCandidate(cluster.endpoints(), name, `${kill}-${round}`, ttl);
      candidates.push(next);
      let killedNode: string | null = null;
      try {
        await pollUntil(
          async () => ((await observer.get(key)).waiters >= 1 ? true : null),
          deadline(`candidate ${next.value} queued`),
        );
        let killedAtMs: number;
        if (kill === "process") {
          killedAtMs = epochMs();
          leader.child.kill("SIGKILL");
        } else {
          killedNode = await cluster.waitForLeader(ttlMs + ROUND_SLACK_MS);
          killedAtMs = epochMs();
          const stopped = cluster.kill(killedNode, "SIGKILL");
          leader.child.kill("SIGTERM");
          await stopped;
        }
        const led = await withTimeout(next.leading, `candidate ${next.value} leads`);
        const ms = led.atMs - killedAtMs;
        failoverMs.push(ms);
        log(
          `  election fail-over (${kill} kill, TTL ${ttl}) round ${round}: ${ms.toFixed(0)} ms to the next leader (token ${led.token})`,
        );
        await withTimeout(leader.exited, `candidate ${leader.value} exits`);
      } catch (error) {
        errors.push(`round ${round}: ${(error as Error).message}`);
        log(
          `  election fail-over (${kill} kill) round ${round} failed: ${(error as Error).message}`,
        );
        break;
      } finally {
        // The next round (and the next scenario) needs the whole cluster again.
        if (killedNode !== null) {
          cluster.restart(killedNode);
          await cluster.waitForReady(ttlMs + ROUND_SLACK_MS);
        }
      }
      leader = next;
    }
  } finally {
    // Candidates still running resign (so a later run does not wait out their lease), or die.
    for (const candidate of candidates) {
      if (candidate.child.exitCode !== null || candidate.child.signalCode !== null) continue;
      candidate.child.kill("SIGTERM");
      await withTimeout(candidate.exited, `candidate ${candidate.value} resigns`).catch(() => {
        candidate.child.kill("SIGKILL");
        return candidate.exited;
      });
    }
    await observer.close();
  }
  return { kill, ttl, ttlMs, failoverMs, summaryMs: summarize(failoverMs), errors };
}
