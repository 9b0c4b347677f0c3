// The client port of servers with an auth file: the fuzzer authenticates with a `lock`-role token
// on most connections (none or an invalid one on some) and asks for membership changes naming real
// members. None may be obeyed: only the admin role changes membership (the former finding
// client-membership-unauthenticated). The batch check compares every node's members with those at
// start, on top of the usual properties. Prints the seed and the replay.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectPlain } from "../src/connection.js";
import { FuzzCluster } from "../src/fuzz-cluster.js";
import { clientPortFuzzer } from "../src/ports.js";
import { runPort } from "../src/run-fuzz.js";
import { formatPortSummary } from "../src/summary-format.js";

const SEED = Number(process.env.DLOCK_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.DLOCK_FUZZ_INPUTS ?? 1_000);
const BUDGET_MS = Number(process.env.DLOCK_FUZZ_BUDGET_MS ?? 45_000);

const token = () => `dlk_${randomBytes(32).toString("base64url")}`;
const hash = (t: string) => `sha256:${createHash("sha256").update(t, "utf8").digest("hex")}`;

let dir: string;
let fuzz: FuzzCluster;
const fuzzerToken = token();

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay: DLOCK_FUZZ_SEED=${SEED})`);
  dir = await mkdtemp(join(tmpdir(), "dlock-fuzz-auth-"));
  const checkerToken = token();
  const authFile = join(dir, "auth");
  await writeFile(
    authFile,
    [`fuzzer ${hash(fuzzerToken)} lock:fuzz/*`, `checker ${hash(checkerToken)} lock:*`, ""].join(
      "\n",
    ),
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
    const summary = await runPort(clientPortFuzzer(connectPlain, { authToken: fuzzerToken }), {
      fuzz,
      seed: SEED,
      inputs: INPUTS,
      deadlineMs: Date.now() + BUDGET_MS,
      includeOpen: false,
    });
    console.log(formatPortSummary(summary, false));
    expect(summary.failure, `seed ${SEED}`).toBeNull();
    expect(summary.inputs).toBeGreaterThan(0);
  },
  BUDGET_MS + 180_000,
);
