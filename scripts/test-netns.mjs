// The deployment half of `pnpm test:netns`: run by scripts/test-netns.sh once the three host
// namespaces are on their bridge. It follows docs/production.md on them:
//   - the guide's blocks marked `<!-- netns-test: NAME -->` run as written, with the guide's
//     example addresses 10.0.0.x replaced by this run's: `certs` (certificates, tokens, auth file)
//     on the "admin workstation" (a folder here), `firewall` in each host's namespace, `client` and
//     `monitoring` from the root namespace (the application and monitoring host);
//   - deploy/systemd/dlock.service's ExecStart runs in each namespace with the variables of
//     deploy/systemd/dlock.env, edited per host as the guide says, and the paths under /etc/dlock
//     and /var/lib/dlock moved into this run's folder (systemd itself is not used: the unit is
//     checked with `systemd-analyze verify`);
//   - `dlock` is a shim for packages/cli/dist/bin.js, as /usr/local/bin/dlock would be.
// Then, from the root namespace with the guide's client settings: locks held by a refreshing
// client and taken by `dlock acquire`; kill -9 of the leader's server; failover; more locks on
// the two survivors; restart of the killed node; every acknowledged lock checked (holder and
// fencing token) and new tokens above every earlier one; then the leader's host cut off the
// network (its link down: nobody is told) and reconnected, with the same checks. Every metric name the guide mentions
// must be in a node's /metrics, the firewall must drop the peer port from the root namespace,
// the auth file must refuse what the principals may not do, every node must stop with exit 0 on
// SIGTERM, and no node may log at error level.
//
// Input (environment, set by scripts/test-netns.sh): DLOCK_NETNS_HOSTS="n1=<ns>=<address>,...",
// DLOCK_NETNS_SUBNET (the first three octets), DLOCK_NETNS_DIR (a fresh folder for files, data
// and logs). Output: one line per check; exit 0 when every check passed.
import { execFile, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createWriteStream } from "node:fs";
import { get as httpsGet } from "node:https";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Checks,
  describe,
  log,
  requiredEnv,
  sleep,
  StopWaiting,
  waitFor as waitForCondition,
} from "./test-harness.mjs";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const GUIDE = join(REPO, "docs", "production.md");
const UNIT = join(REPO, "deploy", "systemd", "dlock.service");
const ENV_FILE = join(REPO, "deploy", "systemd", "dlock.env");
const CLI = join(REPO, "packages", "cli", "dist", "bin.js");
// The guide's example network; its hosts are 10.0.0.1-3 and its application host 10.0.0.254.
const GUIDE_NETWORK = "10.0.0.";
const GUIDE_HOST_ADDRESS = "10.0.0.1";
// The variables of dlock.env that the guide says to change per host (besides DLOCK_ID).
const PER_HOST_VARIABLES = ["DLOCK_CLIENT", "DLOCK_ADVERTISE_CLIENT", "DLOCK_PEER", "DLOCK_HTTP"];
const APP_PREFIX = "app/"; // the `app` principal's grants in the guide: lock:app/* read:app/*
const HELD_TTL = "60s";
const CLI_TTL = "5m";
// Generous: three nodes and this test on 2 shared, busy cores.
const START_DEADLINE_MS = 120_000;
const FAILOVER_DEADLINE_MS = 90_000;
const REJOIN_DEADLINE_MS = 120_000;
const EXIT_DEADLINE_MS = 30_000;
const POLL_INTERVAL_MS = 500;
const PROGRESS_INTERVAL_MS = 10_000;
const COMMAND_DEADLINE_MS = 120_000;
// How long a dropped SYN to the peer port is given before the test calls it dropped (a refusal
// or an answer would come at once on a bridge: there is no timing assertion in "not connected").
const FIREWALL_PROBE_MS = 5_000;

const SET_BY = "scripts/test-netns.sh";
const dir = requiredEnv("DLOCK_NETNS_DIR", SET_BY);
const subnet = requiredEnv("DLOCK_NETNS_SUBNET", SET_BY);
const hosts = requiredEnv("DLOCK_NETNS_HOSTS", SET_BY)
  .split(",")
  .map((entry) => {
    const [id, ns, address] = entry.split("=");
    return { id, ns, address, server: null, log: join(dir, `${id}.log`) };
  });
const appHost = `${subnet}.254`;
const checks = new Checks();
const check = (name, body) => checks.check(name, body);
const waitFor = (what, deadlineMs, probe) =>
  waitForCondition(what, deadlineMs, probe, {
    intervalMs: POLL_INTERVAL_MS,
    progressIntervalMs: PROGRESS_INTERVAL_MS,
  });

/** Throws StopWaiting when `host`'s server has exited. */
function assertRunning(host) {
  const { exitCode, signalCode } = host.server;
  if (exitCode !== null || signalCode !== null) {
    throw new StopWaiting(
      `${host.id} exited (${exitCode ?? signalCode}); its last log lines:\n${lastLines(host.log, 20)}`,
    );
  }
}

/** The guide's text for this run: its example network replaced by this run's. */
function localize(text) {
  return text.replaceAll(GUIDE_NETWORK, `${subnet}.`);
}

/** The ```sh blocks of the guide marked `<!-- netns-test: NAME -->`, by name. */
function markedBlocks(markdown) {
  const blocks = new Map();
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const mark = /^<!-- netns-test: ([a-z-]+) -->$/.exec(lines[i]);
    if (!mark) continue;
    let start = i + 1;
    while (lines[start] === "") start++;
    if (lines[start] !== "```sh") throw new Error(`docs/production.md:${i + 1}: no sh block`);
    const end = lines.indexOf("```", start + 1);
    if (blocks.has(mark[1])) throw new Error(`docs/production.md: two "${mark[1]}" blocks`);
    blocks.set(mark[1], lines.slice(start + 1, end).join("\n"));
  }
  return blocks;
}

/** KEY=VALUE lines of a systemd environment file (no quotes or continuations are used). */
function readEnvironmentFile(path) {
  const variables = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const equals = trimmed.indexOf("=");
    if (equals <= 0) throw new Error(`${path}: not KEY=VALUE: ${line}`);
    variables[trimmed.slice(0, equals)] = trimmed.slice(equals + 1);
  }
  return variables;
}

/** The value of `key=` in the unit file (one line each here). */
function unitSetting(unitText, key) {
  const line = unitText.split("\n").find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`deploy/systemd/dlock.service has no ${key}=`);
  return line.slice(key.length + 1).trim();
}

/** The environment of a command run "by hand" on a host: nothing of this test's DLOCK_*. */
function cleanEnvironment(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("DLOCK_")) env[name] = value;
  }
  return { ...env, PATH: `${binDir}:${process.env.PATH}`, ...extra };
}

/** Runs a command to its end; rejects with its output when it fails. */
function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: COMMAND_DEADLINE_MS, maxBuffer: 16 * 1024 * 1024, ...options },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`),
          );
        } else {
          resolve(`${stdout}${stderr}`);
        }
      },
    );
  });
}

/** One of the guide's blocks, as written (but for the addresses), in `sh -e`; in `ns` if given. */
async function runBlock(name, { ns = null, cwd }) {
  const script = localize(blocks.get(name) ?? "");
  if (script === "") throw new Error(`docs/production.md has no "netns-test: ${name}" block`);
  const shell = ["sh", "-e", "-c", `exec 2>&1\n${script}`];
  const [file, ...args] = ns === null ? shell : ["ip", "netns", "exec", ns, ...shell];
  return run(file, args, { cwd, env: cleanEnvironment() });
}

// --- The guide, the unit and the environment file -------------------------------------------

const guide = readFileSync(GUIDE, "utf8");
const blocks = markedBlocks(guide);
const unitText = readFileSync(UNIT, "utf8");
const binDir = join(dir, "bin");
const adminDir = join(dir, "admin");
const certsDir = join(adminDir, "dlock-certs");
mkdirSync(binDir);
mkdirSync(adminDir);
// What /usr/local/bin/dlock is on a host: the dlock command.
const shim = join(binDir, "dlock");
writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
chmodSync(shim, 0o755);

/** Host `host`'s copy of a path of the guide (/etc/dlock/..., /var/lib/dlock) in this run's folder. */
function hostPath(host, path) {
  return join(dir, host.id, path);
}

/** dlock.env as the guide says host `host` has it, with its paths moved into this run's folder. */
function hostEnvironment(host) {
  const variables = readEnvironmentFile(ENV_FILE);
  const out = {};
  for (const [name, value] of Object.entries(variables)) {
    let local = localize(value);
    if (PER_HOST_VARIABLES.includes(name)) {
      local = local.replace(localize(GUIDE_HOST_ADDRESS), host.address);
    }
    if (name === "DLOCK_ID") local = host.id;
    out[name] = local.replace(/^(\/etc\/dlock|\/var\/lib\/dlock)/, (path) => hostPath(host, path));
  }
  return out;
}

const execStart = unitSetting(unitText, "ExecStart").split(/\s+/);
const environmentFile = unitSetting(unitText, "EnvironmentFile");

function startServer(host) {
  const env = { PATH: `${binDir}:${process.env.PATH}`, ...hostEnvironment(host) };
  const argv = [shim, ...execStart.slice(1)];
  const out = createWriteStream(host.log, { flags: "a" });
  const child = spawn("ip", ["netns", "exec", host.ns, ...argv], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  host.server = child;
  return child;
}

async function stopServer(host, signal) {
  const child = host.server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const result = await Promise.race([child.exited, sleep(EXIT_DEADLINE_MS).then(() => null)]);
  if (result === null)
    throw new Error(`${host.id} did not exit within ${EXIT_DEADLINE_MS / 1000} s of ${signal}`);
  return result;
}

function lastLines(path, count) {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-count).join("\n");
  } catch {
    return "(no log)";
  }
}

function httpsText(url, ca) {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca, timeout: 5_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(body)
          : reject(new Error(`${url}: HTTP ${response.statusCode}: ${body.slice(0, 200)}`)),
      );
    });
    request.on("timeout", () => request.destroy(new Error(`${url}: no answer within 5 s`)));
    request.on("error", reject);
  });
}

/** Whether a TCP connection to address:port is established within `ms`. */
function connects(address, port, ms) {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("no answer");
    }, ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      resolve(`error ${error.code ?? error.message}`);
    });
  });
}

/** Packets the INPUT policy of a host's firewall has dropped so far. */
async function droppedByPolicy(host) {
  const text = await run("ip", [
    "netns",
    "exec",
    host.ns,
    "iptables",
    "-L",
    "INPUT",
    "-n",
    "-v",
    "-x",
  ]);
  const match = /^Chain INPUT \(policy DROP (\d+) packets/m.exec(text);
  if (!match) throw new Error(`${host.id}: the INPUT policy is not DROP:\n${text}`);
  return Number(match[1]);
}

// --- The run ---------------------------------------------------------------------------------

const { Locker } = await import("../packages/client/dist/index.js");
const lockers = [];
const held = []; // { key, value, fencingToken, lock? } acknowledged and meant to stay held
let tokenHigh = 0; // the highest fencing token acknowledged so far
let commitAtLastAck = 0; // the leader's commit index after the last lock acknowledged before the restart

/** The address clients dial for `host`: its entry in the guide's DLOCK_ENDPOINTS. */
function clientEndpoint(host) {
  const list = /^export DLOCK_ENDPOINTS=(.*)$/m.exec(blocks.get("client") ?? "");
  if (!list) throw new Error('the guide\'s "client" block sets no DLOCK_ENDPOINTS');
  const endpoint = localize(list[1]).split(",")[hosts.indexOf(host)];
  if (!endpoint) throw new Error(`the guide's DLOCK_ENDPOINTS has no entry for ${host.id}`);
  return endpoint;
}

function openLocker(tokenFile, endpoints = hosts.map(clientEndpoint)) {
  // The guide's client settings: its endpoints, cluster id, CA and a token file.
  const env = hostEnvironment(hosts[0]);
  const locker = new Locker({
    endpoints,
    clusterId: env.DLOCK_CLUSTER_ID,
    tls: { ca: readFileSync(join(certsDir, "ca.pem")) },
    authToken: readFileSync(join(certsDir, tokenFile), "utf8").trim(),
  });
  lockers.push(locker);
  return locker;
}

function noteToken(key, token) {
  if (!(token > tokenHigh)) {
    throw new Error(`${key}: fencing token ${token} is not above ${tokenHigh}, the highest so far`);
  }
  tokenHigh = token;
}

async function leaderOf(locker) {
  const status = await locker.status();
  return status.leader ?? undefined;
}

async function checkHeld(ops, what) {
  const wrong = [];
  for (const lock of held) {
    const seen = await ops.get(lock.key);
    if (!seen.held || seen.value !== lock.value || seen.fencingToken !== lock.fencingToken) {
      wrong.push(
        `${lock.key}: expected ${lock.value}/${lock.fencingToken}, got ${seen.held ? `${seen.value}/${seen.fencingToken}` : "free"}`,
      );
    }
    if (lock.lock?.signal.aborted) wrong.push(`${lock.key}: its holder's client declared it lost`);
  }
  if (wrong.length > 0) throw new Error(`${what}: ${wrong.join("; ")}`);
  return `${held.length} locks held by their holders with their tokens`;
}

/**
 * One fault of the leader's host and its repair: `inject` it, and another host must lead; every
 * acknowledged lock must still be held, and `newLocks` more are taken on the survivors; then
 * `heal` it, and all three members must be healthy again with every lock still held.
 */
async function survivesLeaderFault(ops, app, fault) {
  const victimId = await leaderOf(ops);
  const victim = hosts.find((h) => h.id === victimId);
  if (!victim) throw new Error(`no host is the leader "${victimId}"`);
  await check(`${fault.inject.what} (${victim.id} in ${victim.ns})`, () =>
    fault.inject.run(victim),
  );
  await check("failover: another host leads", async () => {
    const next = await waitFor(
      `a leader other than ${victim.id}`,
      FAILOVER_DEADLINE_MS,
      async () => {
        const id = await leaderOf(ops);
        return id && id !== victim.id ? id : undefined;
      },
    );
    return `leader ${next}`;
  });
  await check(
    `locks held across the ${fault.name}, and ${fault.newLocks} more taken on the survivors`,
    async () => {
      await checkHeld(ops, `after the ${fault.name}`);
      for (let i = 1; i <= fault.newLocks; i++) {
        const key = `${APP_PREFIX}during-${fault.name}-${i}`;
        const value = `worker-${fault.name}-${i}`;
        const lock = await app.lock(key, value, { ttl: HELD_TTL });
        noteToken(key, lock.fencingToken);
        held.push({ key, value, fencingToken: lock.fencingToken, lock });
      }
      // Everything acknowledged so far is at or below this index on a majority.
      commitAtLastAck = (await ops.status()).members.find((m) => m.role === "leader")?.commitIndex;
      if (!commitAtLastAck) throw new Error("no commit index from the leader");
      return `${held.length} held, tokens up to ${tokenHigh}, commit index ${commitAtLastAck}`;
    },
  );
  await check(
    `${fault.heal.what(victim)}: three healthy members, every lock still held`,
    async () => {
      const detail = await fault.heal.run(victim);
      const status = await waitFor("three healthy members", REJOIN_DEADLINE_MS, async () => {
        hosts.forEach(assertRunning);
        const s = await ops.status();
        return s.leader && s.members.length === 3 && s.members.every((m) => m.healthy)
          ? s
          : undefined;
      });
      await checkHeld(ops, `after the ${fault.name} was healed`);
      return `${detail ? `${detail}; ` : ""}leader ${status.leader}, term ${status.term}`;
    },
  );
}

let exitCode = 1;
try {
  await check("systemd-analyze verify deploy/systemd/dlock.service", async () => {
    const probe = await run("sh", ["-c", "command -v systemd-analyze || true"]);
    if (probe.trim() === "") return "skipped: no systemd-analyze on this machine";
    // The unit as installed, but for the binary (systemd checks that ExecStart exists).
    const unit = join(dir, "dlock.service");
    writeFileSync(unit, unitText.replace(`ExecStart=${execStart[0]}`, `ExecStart=${shim}`));
    const output = await run("systemd-analyze", ["verify", unit]);
    if (output.trim() !== "") throw new Error(`systemd-analyze verify complained:\n${output}`);
    return `no complaint; EnvironmentFile=${environmentFile}, ExecStart=${execStart.join(" ")}`;
  });

  await check("the guide's certs block: CA, node certificates, tokens, auth file", async () => {
    await runBlock("certs", { cwd: adminDir });
    const auth = readFileSync(join(certsDir, "auth"), "utf8").trim().split("\n");
    if (auth.length !== 2) throw new Error(`the auth file has ${auth.length} lines, expected 2`);
    return auth.map((line) => line.split(/\s+/)[0]).join(", ");
  });

  for (const host of hosts) {
    await check(
      `${host.id} (${host.ns}, ${host.address}): files, firewall, ExecStart`,
      async () => {
        // What the guide's install block puts in /etc/dlock, and StateDirectory= makes.
        const etc = hostPath(host, "/etc/dlock");
        mkdirSync(etc, { recursive: true });
        copyFileSync(join(certsDir, "ca.pem"), join(etc, "ca.pem"));
        copyFileSync(join(certsDir, `${host.id}.pem`), join(etc, "node.pem"));
        copyFileSync(join(certsDir, `${host.id}-key.pem`), join(etc, "node-key.pem"));
        copyFileSync(join(certsDir, "auth"), join(etc, "auth"));
        mkdirSync(hostPath(host, "/var/lib/dlock"), { recursive: true, mode: 0o700 });
        await runBlock("firewall", { ns: host.ns, cwd: adminDir });
        startServer(host);
        return `log ${host.log}`;
      },
    );
  }

  const ops = openLocker("ops.token");
  const app = openLocker("app.token");

  await check("a leader and three healthy members", async () => {
    const status = await waitFor(
      "a leader that hears from all three",
      START_DEADLINE_MS,
      async () => {
        hosts.forEach(assertRunning);
        const s = await ops.status();
        return s.leader && s.members.length === 3 && s.members.every((m) => m.healthy)
          ? s
          : undefined;
      },
    );
    // Where a client is sent when that node leads (DLOCK_ADVERTISE_CLIENT) must be the address
    // the clients know it by: its entry in the guide's DLOCK_ENDPOINTS.
    const wrong = hosts.filter((host) => {
      const member = status.members.find((m) => m.id === host.id);
      return member?.clientAddress !== clientEndpoint(host);
    });
    if (wrong.length > 0) {
      throw new Error(
        `advertised client addresses: ${JSON.stringify(status.members.map((m) => [m.id, m.clientAddress]))}`,
      );
    }
    return `leader ${status.leader}, term ${status.term}; each advertises its client endpoint`;
  });

  await check("the guide's client block, from the application host", async () => {
    const output = await runBlock("client", { cwd: adminDir });
    for (const line of output.trimEnd().split("\n")) log(`     | ${line}`);
    return undefined;
  });

  await check("the guide's monitoring block, from the monitoring host", async () => {
    const output = await runBlock("monitoring", { cwd: adminDir });
    for (const line of output.trimEnd().split("\n")) log(`     | ${line}`);
    return undefined;
  });

  await check("every metric the guide names is on every node's /metrics", async () => {
    // A histogram's series are NAME_bucket, _sum and _count; its TYPE line names NAME.
    const mentioned = guide.match(/\bdlock_[a-z_]+[a-z]\b/g) ?? [];
    const names = [...new Set(mentioned.map((name) => name.replace(/_(bucket|sum|count)$/, "")))];
    if (names.length < 5) throw new Error(`the guide names only ${names.length} metrics`);
    const ca = readFileSync(join(certsDir, "ca.pem"));
    for (const host of hosts) {
      const text = await httpsText(`https://${host.address}:7201/metrics`, ca);
      // A counter with labels has no series until it first counts: its TYPE line is always there.
      const missing = names.filter((name) => !text.includes(`\n# TYPE ${name} `));
      if (missing.length > 0) throw new Error(`${host.id}'s /metrics has no ${missing.join(", ")}`);
    }
    return `${names.length} names`;
  });

  await check(
    "the firewall: client port open, peer port dropped from the application host",
    async () => {
      const host = hosts[0];
      const client = await connects(host.address, 7001, FIREWALL_PROBE_MS);
      if (client !== "connected") throw new Error(`client port: ${client}`);
      const before = await droppedByPolicy(host);
      const peer = await connects(host.address, 7101, FIREWALL_PROBE_MS);
      if (peer !== "no answer")
        throw new Error(`peer port from ${appHost}: ${peer}, expected no answer`);
      const after = await droppedByPolicy(host);
      if (!(after > before))
        throw new Error(`the INPUT policy dropped nothing (${before} → ${after})`);
      return `client port connected; peer port: no answer, ${after - before} packets dropped`;
    },
  );

  await check(
    "locks from the application host: a refreshing client and dlock acquire",
    async () => {
      for (let i = 1; i <= 4; i++) {
        const key = `${APP_PREFIX}held-${i}`;
        const lock = await app.lock(key, `worker-${i}`, { ttl: HELD_TTL });
        noteToken(key, lock.fencingToken);
        held.push({ key, value: `worker-${i}`, fencingToken: lock.fencingToken, lock });
      }
      const env = cleanEnvironment({
        DLOCK_ENDPOINTS: hosts.map(clientEndpoint).join(","),
        DLOCK_CLUSTER_ID: hostEnvironment(hosts[0]).DLOCK_CLUSTER_ID,
        DLOCK_TLS_CA: join(certsDir, "ca.pem"),
        DLOCK_AUTH_TOKEN_FILE: join(certsDir, "app.token"),
      });
      for (let i = 1; i <= 3; i++) {
        const key = `${APP_PREFIX}cli-${i}`;
        const out = await run("dlock", ["acquire", key, "cron-host", "--ttl", CLI_TTL, "--json"], {
          env,
        });
        const grant = JSON.parse(out);
        noteToken(key, grant.fencingToken);
        held.push({ key, value: "cron-host", fencingToken: grant.fencingToken });
      }
      // Taken and given back: its next grant must come with a higher token.
      const once = await app.lock(`${APP_PREFIX}released`, "worker-r", { ttl: HELD_TTL });
      noteToken(once.key, once.fencingToken);
      const { released } = await once.release();
      if (!released) throw new Error(`${once.key} was not released`);
      return `${held.length} held, tokens up to ${tokenHigh}`;
    },
  );

  await check("the auth file decides: app is held to app/*, no token is no entry", async () => {
    const { PermissionDeniedError, UnauthenticatedError } =
      await import("../packages/client/dist/index.js");
    const outside = await app.acquire("billing/close-month", "worker-x", { ttl: HELD_TTL }).then(
      () => null,
      (error) => error,
    );
    if (!(outside instanceof PermissionDeniedError)) {
      throw new Error(`app outside app/*: expected PERMISSION_DENIED, got ${describe(outside)}`);
    }
    const anonymous = new Locker({
      endpoints: hosts.map(clientEndpoint),
      tls: { ca: readFileSync(join(certsDir, "ca.pem")) },
    });
    lockers.push(anonymous);
    const refused = await anonymous.status().then(
      () => null,
      (error) => error,
    );
    if (!(refused instanceof UnauthenticatedError)) {
      throw new Error(
        `a client without a token: expected UNAUTHENTICATED, got ${describe(refused)}`,
      );
    }
    return "PERMISSION_DENIED, UNAUTHENTICATED";
  });

  await survivesLeaderFault(ops, app, {
    name: "kill",
    newLocks: 2,
    inject: {
      what: "kill -9 the leader's server",
      run: async (victim) => {
        const result = await stopServer(victim, "SIGKILL");
        if (result?.signal !== "SIGKILL") throw new Error(`exited with ${JSON.stringify(result)}`);
        return undefined;
      },
    },
    heal: {
      what: (victim) => `restart ${victim.id} with the same ExecStart and environment file`,
      run: async (victim) => {
        startServer(victim);
        const ca = readFileSync(join(certsDir, "ca.pem"));
        // Its own word: it has applied every acknowledged lock to its table.
        const own = await waitFor(
          `${victim.id} to apply index ${commitAtLastAck}`,
          REJOIN_DEADLINE_MS,
          async () => {
            assertRunning(victim);
            const url = `https://${victim.address}:7201/status`;
            const status = JSON.parse(await httpsText(url, ca));
            return status.leader && status.appliedIndex >= commitAtLastAck ? status : undefined;
          },
        );
        return `${victim.id} is a ${own.role} at applied index ${own.appliedIndex}`;
      },
    },
  });

  await check("tokens only grew: new grants are above every earlier one", async () => {
    const again = await app.lock(`${APP_PREFIX}released`, "worker-r2", { ttl: HELD_TTL });
    noteToken(again.key, again.fencingToken);
    const fresh = await app.lock(`${APP_PREFIX}after-restart`, "worker-a", { ttl: HELD_TTL });
    noteToken(fresh.key, fresh.fencingToken);
    await again.release();
    await fresh.release();
    return `up to ${tokenHigh}`;
  });

  // A host that vanishes without closing its connections (power loss, a cut cable): its peers
  // and clients hear nothing, so they find out by timeouts, not by a reset.
  await survivesLeaderFault(ops, app, {
    name: "cut",
    newLocks: 1,
    inject: {
      what: "cut the leader's host off the network (eth0 down)",
      run: async (victim) => {
        await run("ip", ["-n", victim.ns, "link", "set", "eth0", "down"]);
        return undefined;
      },
    },
    heal: {
      what: (victim) => `reconnect ${victim.id} (eth0 up)`,
      run: async (victim) => {
        await run("ip", ["-n", victim.ns, "link", "set", "eth0", "up"]);
        return undefined;
      },
    },
  });

  await check("release every lock", async () => {
    for (const lock of held) {
      const result = lock.lock
        ? await lock.lock.release()
        : await app.release(lock.key, lock.value);
      if (!result.released) throw new Error(`${lock.key} was not released`);
    }
    return `${held.length} released`;
  });

  await check("stop every node with SIGTERM, as systemctl stop does: each exits 0", async () => {
    const results = await Promise.all(hosts.map((host) => stopServer(host, "SIGTERM")));
    const bad = results.filter((result) => result?.code !== 0);
    if (bad.length > 0) throw new Error(`exits: ${JSON.stringify(results)}`);
    return undefined;
  });

  await check(
    "no node logged an error (the kill, the restart and the cut are warnings at most)",
    () => {
      const errors = hosts.flatMap((host) =>
        readFileSync(host.log, "utf8")
          .split("\n")
          .filter((line) => /^\{"level":[56]\d,/.test(line))
          .map((line) => `${host.id}: ${line.slice(0, 300)}`),
      );
      if (errors.length > 0) throw new Error(errors.join("\n"));
      return `${hosts.length} logs`;
    },
  );
  exitCode = checks.exitCode();
} catch (error) {
  checks.fail(error);
  for (const host of hosts) {
    log(`last log lines of ${host.id} (${host.log}):\n${lastLines(host.log, 30)}`);
  }
} finally {
  await Promise.allSettled(lockers.map((locker) => locker.close()));
  // SIGTERM, as `systemctl stop` sends it; the shell's trap kills whatever is left.
  await Promise.allSettled(hosts.map((host) => stopServer(host, "SIGTERM")));
  log(`netns: ${checks.summary()}`);
}
process.exit(exitCode);
