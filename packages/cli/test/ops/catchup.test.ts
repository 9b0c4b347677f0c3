// Catch-up after a killed leader, on real processes: SIGKILL the leader while 8 clients acquire and
// release, restart it, twice. Its peers must send it at most twice the log bytes it lacked (plus a
// little for heartbeats), no node may pass 512 MiB RSS, and no client operation may fail or see a
// fencing token go backwards. Timings are printed, not asserted; the 10-round version with a
// budget is `node packages/tools/dist/catchup-measure.js --rounds 10`.
import { afterEach, describe, expect, it } from "vitest";
import { checkCatchUpBounds } from "@dlock/tools";
import { runCatchUpRounds } from "@dlock/tools";
import { CLUSTER_ID, startCluster } from "./support.js";

describe("catch-up of a killed leader under load (real processes)", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("sends the restarted node about what it lacked, within the memory bound", async () => {
    const started = await startCluster("catchup", { fsync: true });
    cleanup = started.cleanup;
    const report = await runCatchUpRounds({
      cluster: started.cluster,
      clusterId: CLUSTER_ID,
      rounds: 2,
      say: (line) => console.log(line),
    });
    expect(report.rounds).toHaveLength(2);
    for (const round of report.rounds) expect(round.lackedEntries).toBeGreaterThan(0);
    expect(report.grants).toBeGreaterThan(0);
    expect(checkCatchUpBounds(report)).toEqual([]);
  }, 600_000);
});
