// What every kind of chaos client shares: the context its loop runs in, and how a grant it holds
// (a lock, permits, a read or write lock, a leadership) is recorded as a belief that ends no later than its validity.
import type { Lock, LockOptions, Locker, ReleaseOutcome } from "@dlock/client";
import type { Belief, FencedResource, Prng } from "@dlock/testkit";
import type { History, OpKind } from "./history.js";

/** What one chaos client's loop gets. */
export interface ChaosClientContext {
  /** The client's name (its Locker's client id, and the prefix of its values). */
  client: string;
  locker: Locker;
  prng: Prng;
  history: History;
  resource: FencedResource;
  /** Lock keys key-1 … key-<keys>. */
  keys: number;
  ttlMs: number;
  /** Aborted when the workload stops: end the current operation and return. */
  signal: AbortSignal;
}

/** A kind of client: the loop each of its clients runs until the workload stops. */
export interface ChaosClientKind {
  /** Names its clients (`<name>1`, `<name>2`, …) and its line in the summary. */
  name: string;
  run(context: ChaosClientContext): Promise<void>;
}

/**
 * The holder of `lock` believes in it from now until `end` is called or the lock is lost, and
 * never past its validity. Returns `end`, which records the belief's end (once) and is safe to
 * call after a loss.
 */
export function believe(
  history: History,
  lock: Lock,
  grant: {
    client: string;
    key: string;
    value: string;
    permit?: { permits: number; count: number };
    rw?: "read" | "write";
  },
): { belief: Belief; end: (reason: string) => void } {
  const belief = history.beginBelief(
    grant.client,
    grant.key,
    grant.value,
    lock.fencingToken,
    grant.permit,
    grant.rw,
  );
  const end = (reason: string): void =>
    history.endBelief(belief, reason, Math.min(history.now(), lock.validUntilMs));
  lock.onLost(() => end("lost"));
  return { belief, end };
}

/** Ends a grant by `end` (release, or resign), recorded as a release op of `grant`. */
export async function recordedRelease(
  history: History,
  grant: { client: string; key: string; value: string; token: number },
  end: () => Promise<ReleaseOutcome>,
): Promise<void> {
  const op = history.begin("release", grant.client, grant.key, grant.value);
  try {
    const outcome = await end();
    history.end(op, "ok", grant.token, outcome.released ? "released" : "notHeld");
  } catch (error) {
    history.end(op, "error", grant.token, errorCode(error));
  }
}

/** The `code` of a dlock error (or the error as text). */
export function errorCode(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : String(error);
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** One acquire of a shared key (a semaphore's permits, a reader-writer key in a mode). */
export interface SharedAcquire {
  take(value: string, options: LockOptions & { signal: AbortSignal }): Promise<Lock>;
  /** The op's detail when granted ("×2", "read"). */
  detail: string;
  /** What the holder believes it holds beyond the key. */
  grant: { permit?: { permits: number; count: number }; rw?: "read" | "write" };
}

/**
 * The loop of a client of a shared key: draw an acquire, take it (queueing a while half the
 * time), believe in it for a random time while it stays valid, release it; again until stopped.
 */
export async function runSharedKeyClient(
  context: ChaosClientContext,
  kind: OpKind,
  key: string,
  draw: () => SharedAcquire,
): Promise<void> {
  const { client, prng, history, ttlMs, signal } = context;
  let n = 0;
  while (!signal.aborted) {
    const value = `${client}-${++n}`;
    const acquire = draw();
    const op = history.begin(kind, client, key, value);
    let lock: Lock;
    try {
      lock = await acquire.take(value, {
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
    history.end(op, "ok", lock.fencingToken, acquire.detail);
    const { end } = believe(history, lock, { client, key, value, ...acquire.grant });
    await sleep(prng.int(10, 2 * ttlMs), signal);
    end("released");
    await recordedRelease(history, { client, key, value, token: lock.fencingToken }, () =>
      lock.release(),
    );
  }
}
