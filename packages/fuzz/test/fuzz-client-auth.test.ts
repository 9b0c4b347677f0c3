// The client port of servers with an auth file: the fuzzer authenticates with a `lock`-role token
// on most connections (none or an invalid one on some) and asks for membership changes naming real
// members. None may be obeyed: only the admin role changes membership (the former finding
// client-membership-unauthenticated). The batch check compares every node's members with those at
// start, on top of the usual properties. Prints the seed and the replay.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, it } from "vitest";
import { generateAuthToken, hashAuthToken } from "@dlock/server";
import { connectPlain } from "../src/connection.js";
import { FuzzCluster } from "../src/fuzz-cluster.js";
import { clientPortFuzzer } from "../src/ports.js";
import { expectCleanRun } from "./support/expect-clean-run.js";

const SEED = Number(process.env.DLOCK_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.DLOCK_FUZZ_INPUTS ?? 1_000);
const BUDGET_MS = Number(process.env.DLOCK_FUZZ_BUDGET_MS ?? 45_000);

let dir: string;
let fuzz: FuzzCluster;
const fuzzerToken = generateAuthToken();

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay: DLOCK_FUZZ_SEED=${SEED})`);
  dir = await mkdtemp(join(tmpdir(), "dlock-fuzz-auth-"));
  const checkerToken = generateAuthToken();
  const authFile = join(dir, "auth");
  await writeFile(
    authFile,
    [
      `fuzzer ${hashAuthToken(fuzzerToken)} lock:fuzz/*`,
      `checker ${hashAuthToken(checkerToken)} lock:*`,
      "",
    ].join("\n"),
  );
  fuzz = await FuzzCluster.start({ auth: { authFile, checkerToken } });
}, 120_000);

afterAll(async () => {
  await fuzz?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it(
  `client port with an auth file: membership changes of real members refused, membership unchanged (seed ${SEED})`,
  async () => {
    await expectCleanRun(clientPortFuzzer(connectPlain, { authToken: fuzzerToken }), {
      fuzz,
      seed: SEED,
      inputs: INPUTS,
      budgetMs: BUDGET_MS,
    });
  },
  BUDGET_MS + 180_000,
);
