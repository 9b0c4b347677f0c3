// The watch checker over seeded schedules: a watcher that follows nodes applying one committed
// log at their own pace sees exactly the committed events (no gap, no duplicate), and each
// planted watch bug is caught. WATCH_SEED replays one schedule.
import { describe, expect, it } from "vitest";
import { runWatchSchedule } from "@dlock/testkit/internal";
import type { WatchViolation } from "@dlock/testkit/internal";

const SCHEDULES = 1000;

function firstSeed(): number {
  const fromEnv = process.env.WATCH_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : (Date.now() ^ (process.pid << 8)) | 0;
  console.log(`[watch schedules] first seed ${seed} (replay one with WATCH_SEED=${seed})`);
  return seed;
}

describe("watch schedules", () => {
  it(`${SCHEDULES} schedules: every watcher sees the committed order, no gap, no duplicate`, async () => {
    const first = firstSeed();
    const count = process.env.WATCH_SEED === undefined ? SCHEDULES : 1;
    const violations: WatchViolation[] = [];
    for (let i = 0; i < count && violations.length === 0; i++) {
      violations.push(...(await runWatchSchedule((first + i) | 0)));
    }
    expect(violations).toEqual([]);
  });

  it.each([["splitsRevision" as const], ["coversOneShort" as const]])(
    "catches the planted bug %s",
    async (bug) => {
      const first = firstSeed();
      let found: WatchViolation | undefined;
      for (let i = 0; i < SCHEDULES && found === undefined; i++) {
        found = (await runWatchSchedule((first + i) | 0, { plantedBugs: { [bug]: true } }))[0];
      }
      console.log(
        `[watch schedules] ${bug}: ${found?.message ?? "not found"} (seed ${found?.seed})`,
      );
      expect(found).toBeDefined();
    },
  );
});
