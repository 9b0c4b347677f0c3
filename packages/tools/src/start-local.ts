#!/usr/bin/env node
// `pnpm start`: a local three-node cluster on loopback for a first try. Data and logs live under
// ./data (reused by the next start); Ctrl-C stops the nodes gracefully.
// `pnpm start:secure` (--secure, or DLOCK_LOCAL_SECURE=1): the same with TLS on the client port,
// mutual TLS between the nodes and client authentication, with certificates (./data/certs), an
// auth file and tokens (./data/secure) made on first start (see secure-local.ts).
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
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping (each node hands over leadership and flushes)...\n");
    await cluster.stop();
    process.stdout.write(
      `stopped; \`pnpm start${SECURE ? ":secure" : ""}\` again reuses the data in ${ROOT}\n`,
    );
  };
  process.on("SIGINT", () => void stop().then(() => process.exit(0)));
  process.on("SIGTERM", () => void stop().then(() => process.exit(0)));
  for (const node of cluster.nodes) {
    node.process?.once("exit", (code) => {
      if (stopping) return;
      process.stderr.write(`node ${node.id} exited (code ${code}); see ${node.logFile}\n`);
    });
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
    await stop();
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
