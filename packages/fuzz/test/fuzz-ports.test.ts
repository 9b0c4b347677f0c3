// The CI-sized fuzz run: a few thousand inputs per port against three real servers started here
// (built dist/ of the CLI), each port within a bounded time. Prints the seed and the replay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FuzzCluster } from "../src/fuzz-cluster.js";
import type { PortName } from "../src/ports.js";
import {
  adminPortFuzzer,
  clientPortFuzzer,
  peerPortFuzzer,
  PLAIN_CONNECTORS,
} from "../src/ports.js";
import { expectCleanRun } from "./support/expect-clean-run.js";
import { framedInput } from "./support/framed-input.js";

const SEED = Number(process.env.DLOCK_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.DLOCK_FUZZ_INPUTS ?? 2_000);
/** Exploration time per port; a failure's shrinking may add up to a minute. */
const BUDGET_MS = Number(process.env.DLOCK_FUZZ_BUDGET_MS ?? 90_000);

let fuzz: FuzzCluster;

beforeAll(async () => {
  console.log(
    `fuzz seed ${SEED} (replay: DLOCK_FUZZ_SEED=${SEED}, or pnpm fuzz --seed ${SEED} --inputs ${INPUTS})`,
  );
  fuzz = await FuzzCluster.start();
}, 120_000);

afterAll(async () => {
  await fuzz?.stop();
});

async function fuzzPort(port: PortName) {
  const fuzzer =
    port === "client"
      ? clientPortFuzzer(PLAIN_CONNECTORS.client)
      : port === "peer"
        ? peerPortFuzzer(PLAIN_CONNECTORS.peer)
        : adminPortFuzzer(PLAIN_CONNECTORS.admin);
  await expectCleanRun(fuzzer as Parameters<typeof expectCleanRun>[0], {
    fuzz,
    seed: SEED,
    inputs: INPUTS,
    budgetMs: BUDGET_MS,
  });
}

describe("fuzz findings kept as regressions", () => {
  it("seed 862931049: stray bytes [0, 1] before a valid hello open a 64 KiB first frame; the server closes at its handshake timeout and the fuzzer waits for that", async () => {
    const fuzzer = clientPortFuzzer(PLAIN_CONNECTORS.client);
    const result = await fuzzer.send(
      {
        node: 0,
        input: framedInput({ prelude: Uint8Array.from([0, 1]) }),
      },
      { fuzz, views: await fuzz.views(), includeOpen: false },
    );
    expect(result.problems).toEqual([]);
  }, 60_000);
});

describe(`fuzzing the ports of real servers (seed ${SEED})`, () => {
  for (const port of ["client", "peer", "admin"] as const) {
    it(
      `${port} port: no crash, no leader change, locks kept, memory bounded, still serving`,
      async () => {
        await fuzzPort(port);
      },
      BUDGET_MS + 180_000,
    );
  }
});
