// Reader-writer clients: each takes the run's reader-writer key as a reader (most of the time) or
// as its writer, queueing a while when it is not free, holds it for a random time while it stays
// valid, and releases it.
import type { ChaosClientContext, ChaosClientKind } from "./client-kind.js";
import { runSharedKeyClient } from "./client-kind.js";

/** The reader-writer key every rw client of a run shares. */
export const RW_KEY = "rw-1";
/** Share of acquires that ask to write: enough writers to contend with the readers. */
const WRITE_SHARE = 0.3;

export const rwClients: ChaosClientKind = { name: "rw", run: runRwClient };

function runRwClient(context: ChaosClientContext): Promise<void> {
  const { locker, prng } = context;
  return runSharedKeyClient(context, "rw", RW_KEY, () => {
    const mode = prng.chance(WRITE_SHARE) ? "write" : "read";
    return {
      take: (value, options) =>
        mode === "read"
          ? locker.readLock(RW_KEY, value, options)
          : locker.writeLock(RW_KEY, value, options),
      detail: mode,
      grant: { rw: mode },
    };
  });
}
