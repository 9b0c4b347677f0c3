#!/usr/bin/env node
// `pnpm fuzz --port client|peer|admin|all --inputs 100000 --budget 10m --seed N`: fuzzes the
// ports of three real dlock servers it starts itself. Exit codes: 0 no failure, 1 a failure
// (printed shrunk, with the command that replays it), 2 usage or setup error.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { makeDevCertificates } from "@dlock/tools";
import { parseDuration } from "@dlock/client";
import { connectPlain, connectTls } from "./connection.js";
import { FUZZ_DEFAULTS } from "./fuzz-options.js";
import { FuzzCluster } from "./fuzz-cluster.js";
import type { Connectors, PortName } from "./ports.js";
import { PORT_NAMES } from "./ports.js";
import { fuzzPorts } from "./fuzz-ports.js";
import { formatPortSummary } from "./summary-format.js";

const program = new Command("dlock-fuzz")
  .description(
    "property-based fuzzing of the client, peer and admin ports of three real dlock servers",
  )
  .addHelpText(
    "after",
    "\nExit codes: 0 no failure, 1 a failure (shrunk input and replay command printed), 2 setup error.",
  )
  .addOption(
    new Option("--port <port>", "which port to fuzz")
      .choices([...PORT_NAMES, "all"])
      .default("all")
      .env("DLOCK_FUZZ_PORT"),
  )
  .addOption(
    new Option("--inputs <n>", "inputs per port").default("100000").env("DLOCK_FUZZ_INPUTS"),
  )
  .addOption(
    new Option(
      "--budget <d>",
      "time for the whole run (split between the ports); shrinking may add a minute",
    )
      .default("10m")
      .env("DLOCK_FUZZ_BUDGET"),
  )
  .addOption(new Option("--seed <n>", "fast-check seed (random if absent)").env("DLOCK_FUZZ_SEED"))
  .addOption(
    new Option("--path <path>", "replay one counterexample: the path printed with a failure").env(
      "DLOCK_FUZZ_PATH",
    ),
  )
  .addOption(
    new Option(
      "--include-open",
      "also send the inputs of known open findings (valid messages a member may send that Raft obeys)",
    ).env("DLOCK_FUZZ_INCLUDE_OPEN"),
  )
  .addOption(
    new Option(
      "--concurrency <n>",
      "connections the fuzzer has open at once within a batch (the admin port's inputs mostly wait: more is faster)",
    )
      .default(String(FUZZ_DEFAULTS.concurrency))
      .env("DLOCK_FUZZ_CONCURRENCY"),
  )
  .addOption(
    new Option(
      "--batch-max <n>",
      "most inputs in one batch (the cluster checks run after each; an admin input may wait 5 s for the server, so bigger batches of it go faster)",
    )
      .default(String(FUZZ_DEFAULTS.batchSizeMax))
      .env("DLOCK_FUZZ_BATCH_MAX"),
  )
  .addOption(new Option("--keep", "keep the nodes' data and logs").env("DLOCK_FUZZ_KEEP"))
  .addOption(
    new Option(
      "--tls",
      "run the cluster with TLS and mutual TLS between peers (dev certificates); the peer fuzzer then connects without a certificate or with a client one, and everything must be refused at the handshake",
    ).env("DLOCK_FUZZ_TLS"),
  )
  .action(async (flags: Record<string, string | boolean | undefined>) => {
    const seed =
      flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed);
    const inputs = Number(flags.inputs);
    const concurrency = Number(flags.concurrency);
    const batchSizeMax = Number(flags.batchMax);
    if (
      !Number.isSafeInteger(seed) ||
      !Number.isSafeInteger(inputs) ||
      inputs < 1 ||
      !Number.isSafeInteger(concurrency) ||
      concurrency < 1 ||
      concurrency > 64 ||
      !Number.isSafeInteger(batchSizeMax) ||
      batchSizeMax < 1 ||
      batchSizeMax > 1024
    ) {
      process.stderr.write(
        "dlock-fuzz: --seed, --inputs, --concurrency and --batch-max must be whole numbers (--inputs ≥ 1, --concurrency 1 to 64, --batch-max 1 to 1024)\n",
      );
      process.exitCode = 2;
      return;
    }
    const budgetMs = parseDuration(String(flags.budget), "--budget");
    const ports: PortName[] = flags.port === "all" ? [...PORT_NAMES] : [flags.port as PortName];
    process.stderr.write(
      `dlock-fuzz: seed ${seed}, ports ${ports.join(",")}, ${inputs} inputs per port, batches of up to ${batchSizeMax}, ${concurrency} at once, budget ${budgetMs / 1000}s\n` +
        `  replay: pnpm fuzz --port ${flags.port} --inputs ${inputs} --concurrency ${concurrency} --batch-max ${batchSizeMax} --seed ${seed}\n`,
    );
    const tls = flags.tls === true ? await devTls() : null;
    const fuzz = await FuzzCluster.start({
      keep: flags.keep === true,
      ...(tls === null ? {} : { tls: { certsDir: tls.dir, ca: tls.ca } }),
    });
    process.stderr.write(`  cluster up under ${fuzz.root}\n`);
    try {
      const summaries = await fuzzPorts({
        fuzz,
        ports,
        seed,
        inputs,
        concurrency,
        batchSizeMax,
        budgetMs,
        includeOpen: flags.includeOpen === true,
        ...(tls === null ? {} : { connectors: tls.connectors, peerRefusedAtHandshake: true }),
        ...(typeof flags.path === "string" ? { path: flags.path } : {}),
        progress: (line) => process.stderr.write(`  ${line}\n`),
      });
      for (const summary of summaries) {
        process.stdout.write(formatPortSummary(summary, flags.includeOpen === true));
      }
      process.exitCode = summaries.some((s) => s.failure !== null) ? 1 : 0;
      if (process.exitCode === 1) {
        fuzz.keepAfterStop();
        process.stderr.write(`  node data and logs kept in ${fuzz.root}\n`);
      }
    } finally {
      await fuzz.stop();
      if (tls !== null) await rm(tls.dir, { recursive: true, force: true });
    }
  });

/**
 * Dev certificates for n1..n3 and a client "fuzzer". The client port is fuzzed over TLS; the peer
 * port alternately without a certificate and with the client one (never a node's).
 */
async function devTls(): Promise<{ dir: string; ca: string; connectors: Connectors }> {
  const dir = await mkdtemp(join(tmpdir(), "dlock-fuzz-certs-"));
  const files = await makeDevCertificates({ dir, nodes: ["n1", "n2", "n3"], clients: ["fuzzer"] });
  const ca = await readFile(files.ca, "utf8");
  const fuzzer = files.clients.fuzzer;
  if (fuzzer === undefined) throw new Error(`no client certificate for "fuzzer" in ${dir}`);
  const clientCert = {
    cert: await readFile(fuzzer.cert, "utf8"),
    key: await readFile(fuzzer.key, "utf8"),
  };
  const withoutCert = connectTls({ ca, servername: "localhost" });
  const withClientCert = connectTls({ ca, ...clientCert, servername: "localhost" });
  let connections = 0;
  return {
    dir,
    ca,
    connectors: {
      client: withoutCert,
      peer: (address) => (connections++ % 2 === 0 ? withoutCert : withClientCert)(address),
      admin: connectPlain,
    },
  };
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`dlock-fuzz: ${String(error)}\n`);
  process.exitCode = 2;
});
