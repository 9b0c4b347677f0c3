// Semaphore clients: each takes 1 … N permits of the run's semaphore key (queueing a while when
// they are all taken), holds them for a random time while they stay valid, and releases them.
import type { Lock } from "@dlock/client";
import type { ChaosClientContext, ChaosClientKind } from "./client-kind.js";
import { believe, errorCode, recordedRelease, sleep } from "./client-kind.js";

/** The semaphore every semaphore client of a run shares, and its N. */
export const SEMAPHORE_KEY = "sem-1";
export const SEMAPHORE_PERMITS = 3;

export const semaphoreClients: ChaosClientKind = { name: "semaphore", run: runSemaphoreClient };

async function runSemaphoreClient(context: ChaosClientContext): Promise<void> {
  const { client, locker, prng, history, ttlMs, signal } = context;
  const key = SEMAPHORE_KEY;
  let n = 0;
  while (!signal.aborted) {
    const value = `${client}-${++n}`;
    const permit = { permits: SEMAPHORE_PERMITS, count: prng.int(1, SEMAPHORE_PERMITS) };
    const op = history.begin("semaphore", client, key, value);
    let lock: Lock;
    try {
      lock = await locker.semaphore(key, value, {
        ...permit,
        ttl: ttlMs,
        retryLimit: 2,
        retryInterval: prng.int(20, 80),
        ...(prng.chance(0.5) ? { wait: prng.int(ttlMs / 2, 2 * ttlMs) } : {}),
        signal,
      });
    } catch (error) {
      const code = errorCode(error);
      history.end(op, code === "LOCK_BUSY" ? "busy" : "error", null, code);
      await sleep(prng.int(5, 50), signal);
      continue;
    }
    history.end(op, "ok", lock.fencingToken, `×${permit.count}`);
    const { end } = believe(history, lock, { client, key, value, permit });
    await sleep(prng.int(10, 2 * ttlMs), signal);
    end("released");
    await recordedRelease(history, { client, key, value, token: lock.fencingToken }, () =>
      lock.release(),
    );
  }
}
