// The client half of `pnpm test:docker`: run by scripts/test-docker.sh once the compose cluster
// is up and healthy. From the host, through the ports published on 127.0.0.1 only, it takes and
// releases locks on every node over TLS with the worker's token (the cluster's CA and the tokens
// come from the compose file's `certs` volume), checks that a plain TCP client and a TLS client
// without a token are refused and that the worker may lock jobs/* only, then makes the leader go
// away twice: `docker stop` (SIGTERM: the leader hands leadership over) and `docker kill`
// (SIGKILL: a crash, the others elect a leader).
// Each time it checks that locks keep working with higher fencing tokens and that a lock held
// across the change survives, then starts the container again and checks that the node rejoins.
// Last, a node's process exits on its own and Docker's restart policy brings it back, and the
// client's status call sees a leader and three healthy members.
//
// Input (environment): DLOCK_TEST_CONTAINERS="n1=<container id> n2=<id> n3=<id>";
// DLOCK_TEST_TLS_CA, DLOCK_TEST_ADMIN_TOKEN_FILE, DLOCK_TEST_WORKER_TOKEN_FILE: files copied out
// of the `certs` volume (the CA certificate and the two principals' tokens).
// Output: one line per check, timings, and a closing "docker: N passed, N failed" line.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { promisify } from "node:util";
import { Checks, describe, requiredEnv, waitFor as waitForCondition } from "./test-harness.mjs";

const run = promisify(execFile);

const NODES = [
  { id: "n1", client: "127.0.0.1:7001", http: "https://127.0.0.1:7201" },
  { id: "n2", client: "127.0.0.1:7002", http: "https://127.0.0.1:7202" },
  { id: "n3", client: "127.0.0.1:7003", http: "https://127.0.0.1:7203" },
];
const CLUSTER_ID = "dlock-docker"; // DLOCK_CLUSTER_ID in docker/compose.yaml
const LOCK_TTL = "10s";
const HELD_LOCK_TTL = "30s";
const HTTP_TIMEOUT_MS = 2_000;
const LOCK_ATTEMPT_TIMEOUT_MS = 15_000;
// Generous: 3 containers on 2 shared cores; an election plus client retries fit well inside.
const FAILOVER_DEADLINE_MS = 90_000;
const REJOIN_DEADLINE_MS = 180_000;
const LEADER_DEADLINE_MS = 60_000;
const POLL_INTERVAL_MS = 500;
const PROGRESS_INTERVAL_MS = 5_000;
const DOCKER_STOP_GRACE_S = 30;
// A client that the cluster refuses gives up within this (a node that let it in would answer).
const REFUSED_CLIENT_TIMEOUT_MS = 10_000;
// The worker's grants (docker/certs-init.mjs): lock:jobs/* and read:*. Its locks live here.
const WORKER_PREFIX = "jobs/";

const SET_BY = "scripts/test-docker.sh";
const ca = readFileSync(requiredEnv("DLOCK_TEST_TLS_CA", SET_BY));
const adminToken = readFileSync(requiredEnv("DLOCK_TEST_ADMIN_TOKEN_FILE", SET_BY), "utf8").trim();
const workerToken = readFileSync(
  requiredEnv("DLOCK_TEST_WORKER_TOKEN_FILE", SET_BY),
  "utf8",
).trim();

const containers = parseContainers(process.env.DLOCK_TEST_CONTAINERS ?? "");

function parseContainers(text) {
  const map = new Map();
  for (const pair of text.split(/\s+/).filter(Boolean)) {
    const [id, container] = pair.split("=");
    if (id && container) map.set(id, container);
  }
  for (const node of NODES) {
    if (!map.has(node.id)) {
      throw new Error(`DLOCK_TEST_CONTAINERS has no container for ${node.id}: "${text}"`);
    }
  }
  return map;
}

const checks = new Checks();
const check = (name, body) => checks.check(name, body);
const waitFor = (what, deadlineMs, probe) =>
  waitForCondition(what, deadlineMs, probe, {
    intervalMs: POLL_INTERVAL_MS,
    progressIntervalMs: PROGRESS_INTERVAL_MS,
  });

// The admin port speaks HTTPS with the node's certificate: verified against the cluster's CA (the
// node certificates name 127.0.0.1, the address the host reaches the published ports by).
function httpGet(node, path) {
  return new Promise((resolve, reject) => {
    const request = httpsGet(
      `${node.http}${path}`,
      { ca, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode, body }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
  });
}

// The error a call failed with, or a thrown Error when it did not fail.
async function refusal(what, promise) {
  const outcome = await promise.then(
    () => null,
    (error) => error,
  );
  if (outcome === null) throw new Error(`${what} succeeded`);
  return outcome;
}

async function isReady(node) {
  try {
    return (await httpGet(node, "/readyz")).status === 200;
  } catch {
    return false;
  }
}

// A (re)started node is back: its /readyz answers 200 and Docker's health check agrees.
async function waitUntilHealthy(node, container) {
  await waitFor(`${node.id} /readyz`, REJOIN_DEADLINE_MS, async () =>
    (await isReady(node)) ? true : undefined,
  );
  await waitFor(`${node.id} container health`, REJOIN_DEADLINE_MS, async () => {
    const health = await docker("inspect", "--format", "{{.State.Health.Status}}", container);
    return health === "healthy" ? true : undefined;
  });
}

// The leader a node reports in its /status JSON: `leader` (an id, or null when it knows none);
// a node id object or the members' roles are accepted too, in case the shape grows.
function leaderIn(status) {
  if ("leader" in status) {
    if (typeof status.leader === "string" && status.leader) return status.leader;
    if (status.leader && typeof status.leader.id === "string") return status.leader.id;
    return undefined;
  }
  const member = Array.isArray(status.members)
    ? status.members.find((m) => m.role === "leader")
    : undefined;
  return member?.id;
}

// The leader that every answering node (at least a majority) agrees on, or undefined.
async function agreedLeader(nodes) {
  const seen = [];
  for (const node of nodes) {
    try {
      const { status, body } = await httpGet(node, "/status");
      if (status === 200) seen.push(leaderIn(JSON.parse(body)));
    } catch {
      // A node that does not answer is not counted.
    }
  }
  const majority = Math.floor(NODES.length / 2) + 1;
  if (seen.length < majority || seen.some((id) => id === undefined || id !== seen[0])) {
    throw new Error(`nodes report leaders [${seen.join(", ")}]`);
  }
  return NODES.find((node) => node.id === seen[0]);
}

function tokenOf(lock) {
  const token = BigInt(String(lock.fencingToken));
  if (token <= 0n) throw new Error(`fencing token ${lock.fencingToken} is not positive`);
  return token;
}

async function acquire(locker, key, value, ttl) {
  return locker.lock(key, value, { ttl, signal: AbortSignal.timeout(LOCK_ATTEMPT_TIMEOUT_MS) });
}

// Releases and checks that the cluster freed exactly this grant, which the client still held.
async function release(lock) {
  const outcome = await withDeadline("release", LOCK_ATTEMPT_TIMEOUT_MS, lock.release());
  if (!outcome || outcome.released !== true || outcome.lost !== false) {
    throw new Error(`release of ${lock.key} reported ${JSON.stringify(outcome)}`);
  }
}

async function withDeadline(what, ms, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function docker(...args) {
  const { stdout } = await run("docker", args, { timeout: (DOCKER_STOP_GRACE_S + 30) * 1000 });
  return stdout.trim();
}

async function main() {
  // Loaded here, so that a client that does not load (not built yet) is reported as a failure.
  const { Locker } = await import("../packages/client/dist/index.js");
  if (typeof Locker !== "function") throw new Error("@dlock/client (dist) exports no Locker class");
  const suffix = `${process.pid}-${Date.now()}`;
  const lockers = [];
  // TLS with the cluster's CA and the worker's token unless `options` say otherwise.
  const openLocker = (endpoints, options = {}) => {
    // clusterId: the client refuses servers of another cluster, so this also checks the config.
    const locker = new Locker({
      endpoints,
      clusterId: CLUSTER_ID,
      tls: { ca },
      authToken: workerToken,
      ...options,
    });
    lockers.push(locker);
    return locker;
  };

  try {
    const all = openLocker(NODES.map((n) => n.client));

    // Every published client port serves locks: followers redirect to the leader through its
    // advertised address (DLOCK_ADVERTISE_CLIENT), which must be reachable from the host.
    for (const node of NODES) {
      await check(`acquire and release through ${node.client} alone`, async () => {
        const single = openLocker([node.client]);
        const lock = await acquire(
          single,
          `${WORKER_PREFIX}docker-smoke-${node.id}-${suffix}`,
          "smoke",
          LOCK_TTL,
        );
        const token = tokenOf(lock);
        await release(lock);
        return `fencing token ${token}`;
      });
    }

    // What the cluster refuses: plain TCP (even with a valid token), TLS without a token, and
    // the worker's token outside its grant. Each is refused with its typed error.
    await check(
      "a plain TCP client with a valid token is refused (CLUSTER_UNAVAILABLE)",
      async () => {
        const plain = openLocker(
          NODES.map((n) => n.client),
          { tls: undefined, unavailableTimeoutMs: REFUSED_CLIENT_TIMEOUT_MS },
        );
        const error = await refusal("status over plain TCP", plain.status());
        if (error.code !== "CLUSTER_UNAVAILABLE" || !/give --tls-ca/.test(error.message)) {
          throw new Error(`expected CLUSTER_UNAVAILABLE naming --tls-ca, got ${describe(error)}`);
        }
        return error.code;
      },
    );
    await check("a TLS client without a token is refused (UNAUTHENTICATED)", async () => {
      const anonymous = openLocker(
        NODES.map((n) => n.client),
        { authToken: undefined, unavailableTimeoutMs: REFUSED_CLIENT_TIMEOUT_MS },
      );
      const error = await refusal(
        "an acquire without a token",
        acquire(anonymous, `${WORKER_PREFIX}docker-anonymous-${suffix}`, "anonymous", LOCK_TTL),
      );
      if (error.code !== "UNAUTHENTICATED") {
        throw new Error(`expected UNAUTHENTICATED, got ${describe(error)}`);
      }
      return error.code;
    });
    await check("the worker's token may not lock outside jobs/ (PERMISSION_DENIED)", async () => {
      const error = await refusal(
        "the worker's acquire outside its grant",
        acquire(all, `docker-outside-grant-${suffix}`, "worker", LOCK_TTL),
      );
      if (error.code !== "PERMISSION_DENIED") {
        throw new Error(`expected PERMISSION_DENIED, got ${describe(error)}`);
      }
      return error.code;
    });
    await check("the admin's token lists the three members", async () => {
      const admin = openLocker(
        NODES.map((n) => n.client),
        { authToken: adminToken },
      );
      const { members } = await withDeadline("members", LOCK_ATTEMPT_TIMEOUT_MS, admin.members());
      const ids = members.map((m) => m.id).sort();
      if (ids.join(",") !== NODES.map((n) => n.id).join(",")) {
        throw new Error(`members ${ids.join(", ")}`);
      }
      return ids.join(", ");
    });

    const key = `${WORKER_PREFIX}docker-failover-${suffix}`;
    let lastToken = 0n;
    await check("acquire and release a key through all three endpoints", async () => {
      const lock = await acquire(all, key, "before-failover", LOCK_TTL);
      lastToken = tokenOf(lock);
      await release(lock);
      return `fencing token ${lastToken}`;
    });

    // Two ways the leader goes away, each followed by a restart of its container:
    //   stop: SIGTERM, as `docker compose stop` does: the leader hands leadership over, then exits;
    //   kill: SIGKILL, as a crash: no handover, the others elect a leader once a timeout passes.
    // After each, locks keep working with higher fencing tokens, a lock held across the change
    // keeps its holder and token, and the node rejoins and serves locks through its own port.
    const failOver = async ({ how, dockerCommand, expectedExitCode, heldValue }) => {
      // A lock held (and auto-refreshed) across the leader change.
      let held;
      let heldToken = 0n;
      await check(`acquire a lock to hold across the ${how} of the leader`, async () => {
        held = await acquire(
          all,
          `${WORKER_PREFIX}docker-held-${how}-${suffix}`,
          heldValue,
          HELD_LOCK_TTL,
        );
        heldToken = tokenOf(held);
        return `fencing token ${heldToken}`;
      });

      let leader;
      await check("all nodes agree on one leader (/status)", async () => {
        leader = await waitFor("an agreed leader", LEADER_DEADLINE_MS, () => agreedLeader(NODES));
        return leader.id;
      });

      const leaderContainer = containers.get(leader.id);
      const survivors = NODES.filter((n) => n.id !== leader.id);
      await check(
        `${how} the leader's container (${leader.id}: ${dockerCommand.join(" ")})`,
        async () => {
          await docker(...dockerCommand, leaderContainer);
          const state = await docker(
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            leaderContainer,
          );
          const [running, exitCode] = state.split(" ");
          if (running !== "false") throw new Error(`container still running: ${state}`);
          // stop: 0 proves that the process handled SIGTERM itself (unhandled, Docker would
          // SIGKILL it after the grace period: 137). kill: 137.
          if (Number(exitCode) !== expectedExitCode)
            throw new Error(`exit code ${exitCode}, expected ${expectedExitCode}`);
          return `exit code ${exitCode}`;
        },
      );

      await check(
        `a new acquire succeeds after the ${how} with a higher fencing token`,
        async () => {
          const lock = await waitFor(`an acquire after the ${how}`, FAILOVER_DEADLINE_MS, () =>
            acquire(all, key, `after-${how}`, LOCK_TTL),
          );
          const token = tokenOf(lock);
          if (token <= lastToken) throw new Error(`token ${token} is not above ${lastToken}`);
          await release(lock);
          const before = lastToken;
          lastToken = token;
          return `fencing token ${before} -> ${token}`;
        },
      );

      await check("the two remaining nodes agree on a new leader", async () => {
        const next = await waitFor("a new leader", LEADER_DEADLINE_MS, () =>
          agreedLeader(survivors),
        );
        if (next.id === leader.id)
          throw new Error(`stopped node ${leader.id} is still named leader`);
        return next.id;
      });

      await check(`a lock held across the ${how} keeps its holder and token`, async () => {
        if (held.signal.aborted) throw new Error("the held lock was reported lost");
        await withDeadline("refresh", LOCK_ATTEMPT_TIMEOUT_MS, held.refresh());
        if (tokenOf(held) !== heldToken)
          throw new Error(`token changed: ${heldToken} -> ${held.fencingToken}`);
        await release(held);
        return `fencing token ${heldToken}`;
      });

      await check(
        `start ${leader.id} again: it rejoins (/readyz 200, container healthy)`,
        async () => {
          await docker("start", leaderContainer);
          await waitUntilHealthy(leader, leaderContainer);
        },
      );

      await check(`acquire through the rejoined node's port alone (${leader.client})`, async () => {
        const single = openLocker([leader.client]);
        const lock = await waitFor(
          "an acquire through the rejoined node",
          FAILOVER_DEADLINE_MS,
          () => acquire(single, key, `after-rejoin-${how}`, LOCK_TTL),
        );
        const token = tokenOf(lock);
        if (token <= lastToken) throw new Error(`token ${token} is not above ${lastToken}`);
        await release(lock);
        const before = lastToken;
        lastToken = token;
        return `fencing token ${before} -> ${token}`;
      });
    };

    await failOver({
      how: "stop",
      dockerCommand: ["stop", "--time", String(DOCKER_STOP_GRACE_S)],
      expectedExitCode: 0,
      heldValue: "held-across-stop",
    });
    await failOver({
      how: "kill",
      dockerCommand: ["kill", "--signal", "KILL"],
      expectedExitCode: 137,
      heldValue: "held-across-kill",
    });

    // restart: unless-stopped in docker/compose.yaml: a node whose process exits on its own (not
    // stopped through Docker) is started again by Docker. Its process is asked to exit from
    // inside the container, so Docker does not count it as stopped by hand.
    const follower = await waitFor("an agreed leader", LEADER_DEADLINE_MS, async () => {
      const current = await agreedLeader(NODES);
      return NODES.find((n) => n.id !== current.id);
    });
    await check(
      `${follower.id}'s process exits on its own: Docker restarts it and it rejoins`,
      async () => {
        const container = containers.get(follower.id);
        const restartCount = async () =>
          Number(await docker("inspect", "--format", "{{.RestartCount}}", container));
        const before = await restartCount();
        // Detached: a node that shuts down quickly takes the exec'd process with it (exit 137).
        await docker("exec", "--detach", container, "node", "-e", "process.kill(1, 'SIGTERM')");
        await waitFor(`Docker restarting ${follower.id}`, REJOIN_DEADLINE_MS, async () =>
          (await restartCount()) > before ? true : undefined,
        );
        await waitUntilHealthy(follower, container);
        return `restart count ${before} -> ${await restartCount()}`;
      },
    );

    // What `dlock status` prints, through the client protocol: every member seen healthy.
    await check("the client's status call: a leader and three healthy members", async () => {
      const status = await waitFor("three healthy members", REJOIN_DEADLINE_MS, async () => {
        const result = await withDeadline("status", LOCK_ATTEMPT_TIMEOUT_MS, all.status());
        const unhealthy = result.members.filter((m) => m.healthy !== true).map((m) => m.id);
        if (result.leader === null) throw new Error("status names no leader");
        if (result.members.length !== NODES.length)
          throw new Error(`status lists ${result.members.length} members`);
        if (unhealthy.length > 0) throw new Error(`members not healthy: ${unhealthy.join(", ")}`);
        return result;
      });
      const roles = status.members.map((m) => `${m.id}=${m.role}`).join(" ");
      return `leader ${status.leader}, term ${status.term}: ${roles}`;
    });
  } finally {
    await Promise.allSettled(lockers.map((locker) => locker.close()));
  }
}

try {
  await main();
} catch (error) {
  checks.fail(error);
}
console.log(`docker: ${checks.summary()}`);
process.exit(checks.exitCode());
