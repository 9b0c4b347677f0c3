// Says (info) when the log changes the table limits in force (design §2.6), once per change.
import type { Logger } from "@dlock/protocol";
import type { Entry } from "@dlock/raft";
import type { LockResult, TableLimits } from "../lock/index.js";
import { sameTableLimits } from "../lock/index.js";

export interface LimitsChangeLogOptions {
  logger: Logger;
  /** The limits in force when the table was loaded. */
  loaded: TableLimits;
  /**
   * The commit index this node had stored when it started. Entries up to it are a replay: the
   * node applied them (and said so) before it stopped, or was about to.
   */
  replayThroughIndex: number;
}

/**
 * A restarted node re-applies the entries after its stored table's applied index, and a joiner may
 * replay the whole log: said at info, every change of limits in that history would be announced
 * again as if it had just happened. So changes up to `replayThroughIndex` go to debug, and after
 * it an entry is announced only when it leaves other values in force than before it (a new
 * leader's entry restating the limits says nothing). `/status` shows the limits in force.
 */
export class LimitsChangeLog {
  private readonly options: LimitsChangeLogOptions;
  private inForce: TableLimits;

  constructor(options: LimitsChangeLogOptions) {
    this.options = options;
    this.inForce = options.loaded;
  }

  /**
   * A snapshot from the leader replaced the table (RaftHost.onSnapshotInstalled), and with it the
   * limits in force: a node that catches up this way never applies the entries that set them.
   * What it says is judged against these from now on, and a change they bring is said once.
   */
  snapshotInstalled(index: number, limits: TableLimits): void {
    if (sameTableLimits(limits, this.inForce)) return;
    this.inForce = limits;
    this.say(index, limits, "a snapshot changed the table limits in force");
  }

  /** Called with each applied batch (RaftHost.onApply): results[i] is entries[i]'s. */
  onApplied(entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>): void {
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      if (result?.type !== "limitsSet" || sameTableLimits(result.limits, this.inForce)) continue;
      this.inForce = result.limits;
      this.say(entries[i]?.index ?? 0, result.limits, "the log changed the table limits in force");
    }
  }

  /** At info, or at debug up to replayThroughIndex (said before the node stopped). */
  private say(index: number, limits: TableLimits, message: string): void {
    const fields = { limits, index };
    if (index <= this.options.replayThroughIndex) {
      this.options.logger.debug(fields, `replayed: ${message}`);
    } else {
      this.options.logger.info(fields, message);
    }
  }
}
