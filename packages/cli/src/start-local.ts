#!/usr/bin/env node
// `pnpm start`: a local three-node cluster on loopback for a first try. Data and logs live under
// ./data (reused by the next start); Ctrl-C stops the nodes gracefully.
// `pnpm start:secure` (--secure, or DLOCK_LOCAL_SECURE=1): the same with TLS on the client port
// and mutual TLS between the nodes, with certificates made under ./data/certs on first start.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { LocalCluster, LocalClusterError } from "./local-cluster.js";

const ROOT = resolve(process.env.DLOCK_LOCAL_DATA ?? "data");
const PORTS = { client: 7001, peer: 7101, http: 7201 };
const NODE_IDS = ["n1", "n2", "n3"];
/** Client certificates made for the secure cluster (client-<name>.pem in the certs folder). */
const CLIENT_NAMES = ["admin"];
const SECURE =
  process.argv.includes("--secure") ||
  ["1", "true", "yes", "on"].includes((process.env.DLOCK_LOCAL_SECURE ?? "").toLowerCase());

/**
 * Makes the secure cluster's certificates on first start (kept and reused afterwards). Client
 * credentials other than certificates (tokens) belong here too.
 */
async function prepareSecurity(root: string): Promise<string> {
  const dir = join(root, "certs");
  if (!existsSync(join(dir, "ca.pem"))) {
    const { writeDevCertificates } = await import("./certs/dev-certificates.js");
    await writeDevCertificates({ dir, nodes: NODE_IDS, clients: CLIENT_NAMES });
    process.stdout.write(`made a development CA and certificates in ${dir}\n`);
  }
  return dir;
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
    `starting a three-node dlock cluster${SECURE ? " with TLS" : ""}; data and logs in ${ROOT}\n`,
  );
  const certsDir = SECURE ? await prepareSecurity(ROOT) : null;
  const cluster = await LocalCluster.start({
    root: ROOT,
    ports: PORTS,
    clusterId: "dlock-local",
    ...(certsDir === null ? {} : { tlsCertsDir: certsDir }),
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping (each node hands over leadership and flushes)...\n");
    await cluster.stop();
    process.stdout.write("stopped; `pnpm start` again reuses the data in ./data\n");
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
        "try, in another terminal:",
        ...(certsDir === null
          ? []
          : [`  export DLOCK_TLS_CA=${join(certsDir, "ca.pem")}   # the cluster speaks TLS`]),
        "  npx -y pnpm@12.4.2 exec dlock status",
        "  npx -y pnpm@12.4.2 exec dlock lock my-job -- sh -c 'echo token $DLOCK_FENCING_TOKEN; sleep 5'",
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
