// The peer port under mutual TLS: a connection without a certificate, or with a client (not a
// node) certificate of the cluster's CA, must be refused at the handshake, whatever it sends,
// with no leader change (every property, strict). Certificates come from the `dlock certs init`
// helper. Prints the seed and the replay.
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { makeDevCertificates } from "@dlock/tools";
import type { Connect } from "../src/connection.js";
import { connectTls } from "../src/connection.js";
import { FuzzCluster } from "../src/fuzz-cluster.js";
import { peerPortFuzzer } from "../src/ports.js";
import { expectCleanRun } from "./support/expect-clean-run.js";

const SEED = Number(process.env.DLOCK_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.DLOCK_FUZZ_INPUTS ?? 300);
const BUDGET_MS = Number(process.env.DLOCK_FUZZ_BUDGET_MS ?? 40_000);

let dir: string;
let fuzz: FuzzCluster;
let ca: string;
let clientCert: { cert: string; key: string };

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay: DLOCK_FUZZ_SEED=${SEED})`);
  dir = await mkdtemp(join(tmpdir(), "dlock-fuzz-tls-"));
  const files = await makeDevCertificates({
    dir,
    nodes: ["n1", "n2", "n3"],
    clients: ["fuzzer"],
  });
  ca = await readFile(files.ca, "utf8");
  clientCert = {
    cert: await readFile(files.clients.fuzzer.cert, "utf8"),
    key: await readFile(files.clients.fuzzer.key, "utf8"),
  };
  fuzz = await FuzzCluster.start({ tls: { certsDir: dir, ca } });
}, 120_000);

afterAll(async () => {
  await fuzz?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function fuzzPeer(connect: Connect) {
  await expectCleanRun(peerPortFuzzer(connect, { refusedAtHandshake: true }), {
    fuzz,
    seed: SEED,
    inputs: INPUTS,
    budgetMs: BUDGET_MS,
  });
}

describe(`peer port under mutual TLS (seed ${SEED})`, () => {
  it(
    "without a certificate: refused at the handshake, no leader change",
    async () => {
      await fuzzPeer(connectTls({ ca, servername: "localhost" }));
    },
    BUDGET_MS + 180_000,
  );
  it(
    "with a client certificate (not a node's): refused at the handshake, no leader change",
    async () => {
      await fuzzPeer(connectTls({ ca, ...clientCert, servername: "localhost" }));
    },
    BUDGET_MS + 180_000,
  );
});
