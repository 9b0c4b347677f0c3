// Semaphore clients: each takes 1 … N permits of the run's semaphore key (queueing a while when
// they are all taken), holds them for a random time while they stay valid, and releases them.
import type { ChaosClientContext, ChaosClientKind } from "./client-kind.js";
import { runSharedKeyClient } from "./client-kind.js";

/** The semaphore every semaphore client of a run shares, and its N. */
export const SEMAPHORE_KEY = "sem-1";
export const SEMAPHORE_PERMITS = 3;

export const semaphoreClients: ChaosClientKind = { name: "semaphore", run: runSemaphoreClient };

function runSemaphoreClient(context: ChaosClientContext): Promise<void> {
  const { locker, prng } = context;
  return runSharedKeyClient(context, "semaphore", SEMAPHORE_KEY, () => {
    const permit = { permits: SEMAPHORE_PERMITS, count: prng.int(1, SEMAPHORE_PERMITS) };
    return {
      take: (value, options) => locker.semaphore(SEMAPHORE_KEY, value, { ...options, ...permit }),
      detail: `×${permit.count}`,
      grant: { permit },
    };
  });
}
