#!/usr/bin/env node
// `pnpm start`: a local three-node cluster on loopback for a first try. Data and logs live under
// ./data (reused by the next start); Ctrl-C stops the nodes gracefully.
// `pnpm start:secure` (--secure, or DLOCK_LOCAL_SECURE=1): the same with TLS on the client port,
// mutual TLS between the nodes and client authentication, with certificates (./data/certs), an
// auth file and tokens (./data/secure) made on first start (see secure-local.ts).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { LocalCluster, LocalClusterError } from "./local-cluster.js";
import {
  prepareSecureLocal,
  secureLocalClusterOptions,
  secureLocalUsageLines,
} from "./secure-local.js";

const ROOT = resolve(process.env.DLOCK_LOCAL_DATA ?? "data");
const PORTS = { client: 7001, peer: 7101, http: 7201 };
const NODE_IDS = ["n1", "n2", "n3"];
/** How the printed examples run the CLI (from the repository root). */
const DLOCK = "npx -y pnpm@12.4.2 exec dlock";
const SECURE =
  process.argv.includes("--secure") ||
  ["1", "true", "yes", "on"].includes((process.env.DLOCK_LOCAL_SECURE ?? "").toLowerCase());
/** How long the nodes may take to finish the shutdown a terminal's Ctrl-C started in them. */
const CTRL_C_SHUTDOWN_MS = 20_000;

/**
 * Whether a Ctrl-C reached the nodes as well as this process: the terminal signals its whole
 * foreground process group, which the nodes share with us. Then they are already stopping
 * gracefully, and a SIGTERM now would be their second signal, which makes a node exit at once.
 * Read from /proc (Linux); elsewhere assume not, and stop them with SIGTERM as for `kill -INT`.
 */
function nodesGotCtrlC(): boolean {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // After "pid (comm) ": state, ppid, pgrp, session, tty_nr, tpgid (the terminal's foreground group).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    const foregroundGroup = Number(fields[5]);
    return foregroundGroup > 0 && pgrp === foregroundGroup;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const free = await portsFree(
    [PORTS.client, PORTS.peer, PORTS.http].flatMap((p) => [p, p + 1, p + 2]),
  );
  if (free !== null) {
    process.stderr.write(
      `port ${free} on 127.0.0.1 is taken: is another \`pnpm start\` (or dlock server) running? Stop it first.\n`,
    );
    return 1;
  }
  process.stdout.write(
    `starting a three-node dlock cluster${SECURE ? " with TLS and client authentication" : ""}; data and logs in ${ROOT}\n`,
  );
  const secure = SECURE ? await prepareSecureLocal(ROOT, NODE_IDS) : null;
  for (const made of secure?.made ?? []) process.stdout.write(`made ${made}\n`);
  const cluster = await LocalCluster.start({
    root: ROOT,
    ports: PORTS,
    clusterId: "dlock-local",
    ...(secure === null ? {} : secureLocalClusterOptions(secure)),
  });
  let stopping = false;
  const exitCodes = new Map<string, number | null>();
  const exits = cluster.nodes.map(
    (node) =>
      new Promise<void>((done) => {
        if (node.process === null) return done();
        node.process.once("exit", (code) => {
          exitCodes.set(node.id, code);
          done();
          if (stopping) return;
          process.stderr.write(`node ${node.id} exited (code ${code}); see ${node.logFile}\n`);
        });
      }),
  );
  let stopped: Promise<boolean> | null = null;
  /**
   * Stops every node; true when each one exited 0 (a clean, graceful shutdown). A second signal
   * (pnpm passes Ctrl-C on to its script as well) waits for the same shutdown.
   */
  const stop = (signal: NodeJS.Signals | null): Promise<boolean> => (stopped ??= stopAll(signal));
  const stopAll = async (signal: NodeJS.Signals | null): Promise<boolean> => {
    stopping = true;
    process.stdout.write("\nstopping (each node hands over leadership and flushes)...\n");
    if (signal === "SIGINT" && nodesGotCtrlC()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(exits),
        new Promise((done) => (timer = setTimeout(done, CTRL_C_SHUTDOWN_MS))),
      ]);
      clearTimeout(timer);
    }
    await cluster.stop(); // SIGTERM to the nodes still running (SIGKILL past its grace)
    const unclean = cluster.nodes.filter((node) => exitCodes.get(node.id) !== 0);
    for (const node of unclean) {
      process.stderr.write(
        `node ${node.id} did not stop cleanly (exit code ${exitCodes.get(node.id) ?? "none: killed"}); see ${node.logFile}\n`,
      );
    }
    process.stdout.write(
      `stopped; \`pnpm start${SECURE ? ":secure" : ""}\` again reuses the data in ${ROOT}\n`,
    );
    return unclean.length === 0;
  };
  // Ctrl-C is how a person ends `pnpm start`: after a clean shutdown that is success (exit 0).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => void stop(signal).then((clean) => process.exit(clean ? 0 : 1)));
  }
  try {
    const leader = await cluster.waitForLeader(60_000);
    await cluster.waitForReady(60_000);
    const endpoints = cluster.endpoints().join(",");
    process.stdout.write(
      [
        "",
        `dlock cluster "dlock-local" is up; leader: ${leader}`,
        ...cluster.nodes.map(
          (n) =>
            `  ${n.id}  client ${n.clientAddress}  admin http://${n.httpAddress}/status  log ${n.logFile}`,
        ),
        "",
        `endpoints: ${endpoints}`,
        ...(secure === null
          ? [
              "try, in another terminal:",
              `  ${DLOCK} status`,
              `  ${DLOCK} lock my-job -- sh -c 'echo token $DLOCK_FENCING_TOKEN; sleep 5'`,
            ]
          : secureLocalUsageLines(secure, DLOCK)),
        "Ctrl-C stops the cluster.",
        "",
      ].join("\n"),
    );
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    await stop(null);
    return 1;
  }
  await new Promise(() => {
    // Runs until Ctrl-C.
  });
  return 0;
}

async function portsFree(ports: number[]): Promise<number | null> {
  const { createServer } = await import("node:net");
  for (const port of ports) {
    const ok = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once("error", () => done(false));
      server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
    });
    if (!ok) return port;
  }
  return null;
}

main().then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    const message = error instanceof LocalClusterError ? error.message : String(error);
    process.stderr.write(`pnpm start: ${message}\n`);
    process.exit(1);
  },
);
