// The bounds a kill-the-leader catch-up must keep (checked by the measure script and the CI test).
import type { CatchUpReport } from "./catchup-rounds.js";

/** Peers may send a restarted node at most this many times the log bytes it lacked… */
export const CATCH_UP_SENT_PER_LACKED_MAX = 2;
/** …plus this much for heartbeats, probes and frame headers, whatever the lacked amount. */
export const CATCH_UP_SENT_SLACK_BYTES = 256 * 1024;
/** No node may grow beyond this resident set. */
export const NODE_RSS_BYTES_MAX = 512 * 1024 * 1024;

/** Every broken bound, in words (empty when all hold). */
export function checkCatchUpBounds(report: CatchUpReport): string[] {
  const problems: string[] = [];
  for (const r of report.rounds) {
    const allowed = CATCH_UP_SENT_PER_LACKED_MAX * r.lackedBytes + CATCH_UP_SENT_SLACK_BYTES;
    if (r.sentToRestartedBytes > allowed) {
      problems.push(
        `round ${r.round}: peers sent ${r.killed} ${r.sentToRestartedBytes} bytes for ` +
          `${r.lackedBytes} bytes of log it lacked (allowed ${allowed})`,
      );
    }
    for (const [id, rss] of Object.entries(r.rssPeakBytes)) {
      if (rss !== null && rss > NODE_RSS_BYTES_MAX) {
        problems.push(`round ${r.round}: ${id} peaked at ${rss} bytes RSS`);
      }
    }
    if (r.killToGrantMs === null) problems.push(`round ${r.round}: no grant after the kill`);
  }
  for (const failure of report.failures) problems.push(`client operation failed: ${failure}`);
  return problems;
}
