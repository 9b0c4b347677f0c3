// `pnpm sim --host-catch-up`: runs catch-up schedules (host-catch-up.ts) through the production
// RaftHost in the simulator and fails when a follower does not catch up after a heal, or the
// tables diverge. A planted host bug can be switched on to see the simulator find it.
import { parseArgs } from "node:util";
import type { HostPlantedBugs } from "@dlock/server/internal";
import type { HostCatchUpResult } from "./host-catch-up.js";
import { HOST_CATCH_UP_DEFAULTS, runHostCatchUp } from "./host-catch-up.js";

export const HOST_PLANTED_BUG_NAMES = ["compactWhileSendingSnapshot"] as const;
export type HostPlantedBugName = (typeof HOST_PLANTED_BUG_NAMES)[number];

const DEFAULT_SCHEDULES = 20;

/** What is wrong with one run, or null. */
export function hostCatchUpFailure(result: HostCatchUpResult): string | null {
  if (result.lagging === null) return "no leader was elected";
  if (result.catchUpMs === null) {
    return `${result.lagging} did not catch up within ${HOST_CATCH_UP_DEFAULTS.catchUpBoundMs} virtual ms of the heal (${result.compactions} compactions)`;
  }
  return result.divergence;
}

export async function hostCatchUpMain(
  argv: string[],
  write: (line: string) => void,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "host-catch-up": { type: "boolean" },
        schedules: { type: "string" },
        seed: { type: "string" },
        bug: { type: "string", multiple: true },
      },
    }));
  } catch (error) {
    write(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const bugs: HostPlantedBugs = {};
  for (const name of values.bug ?? []) {
    if (!(HOST_PLANTED_BUG_NAMES as readonly string[]).includes(name)) {
      write(`--bug ${name}: the host catch-up schedules know ${HOST_PLANTED_BUG_NAMES.join(", ")}`);
      return 2;
    }
    bugs[name as HostPlantedBugName] = true;
  }
  const schedules = values.seed !== undefined ? 1 : Number(values.schedules ?? DEFAULT_SCHEDULES);
  if (!Number.isInteger(schedules) || schedules < 1) {
    write(`--schedules must be a positive integer, got "${values.schedules}"`);
    return 2;
  }
  const firstSeed = values.seed !== undefined ? Number(values.seed) : 1;
  if (!Number.isSafeInteger(firstSeed)) {
    write(`--seed must be an integer, got "${values.seed}"`);
    return 2;
  }
  let slowest = 0;
  for (let i = 0; i < schedules; i++) {
    const seed = firstSeed + i;
    const result = await runHostCatchUp({ seed, plantedBugs: bugs });
    const failure = hostCatchUpFailure(result);
    if (failure !== null) {
      write(`host catch-up schedule failed (seed ${seed}): ${failure}`);
      const bugFlags = Object.keys(bugs)
        .map((name) => ` --bug ${name}`)
        .join("");
      write(`replay: pnpm sim --host-catch-up --seed ${seed}${bugFlags}`);
      return 1;
    }
    slowest = Math.max(slowest, result.catchUpMs ?? 0);
  }
  write(
    `host catch-up schedules: ${schedules} passed (seeds ${firstSeed}..${firstSeed + schedules - 1}), slowest catch-up ${Math.round(slowest)} virtual ms`,
  );
  return 0;
}
