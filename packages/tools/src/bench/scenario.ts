// One `pnpm bench` scenario: N clients, each with its own Locker (its own connection) or all on
// one (as one application's workers share it), running acquire+release cycles (locker.lock() or
// locker.semaphore(), then lock.release(), as an application does) as fast as they can for a
// warm-up and then a measured window.
import { Locker } from "@dlock/client";
import type { ClientTlsOptions, Lock } from "@dlock/client";
import type { LockOptions } from "@dlock/client";
import { summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export interface ScenarioSpec {
  name: string;
  title: string;
  clients: number;
  /** The key client `index` locks. */
  keyOf: (index: number) => string;
  options: LockOptions;
  /** Present: every client takes one of these many permits of its key (a counting semaphore). */
  permits?: number;
  /** True: every client uses one Locker, so all requests share one connection per node. */
  sharedLocker?: boolean;
}

export interface ScenarioWindow {
  warmupMs: number;
  durationMs: number;
  /** Called when the measured window opens and when it closes. */
  onWindowOpen: () => Promise<void> | void;
  onWindowClose: () => Promise<void> | void;
}

export interface ScenarioOutcome {
  /** Cycles that completed inside the measured window. */
  cycles: number;
  /** Length of the measured window, as it really ran. */
  windowMs: number;
  cyclesPerSecond: number;
  /** Latency of the cycles that completed inside the window, in milliseconds. */
  latencyMs: LatencySummary | null;
  /** How long the acquires of those cycles took (queueing included), in milliseconds. */
  waitMs: LatencySummary | null;
  /**
   * Lock scenarios: from the previous holder of a key issuing its release to the lock() of a
   * client that was already waiting for that key resolving (one process, so one clock), in
   * milliseconds; null when no grant went to a waiter (own keys, semaphores). A waiter's wait
   * is the sum of the handoffs ahead of it, so their spread bounds the FIFO's wait tail.
   */
  handoffMs: LatencySummary | null;
  /**
   * The most clients that held one key at once, as the clients saw it (from the grant's arrival
   * to the release's sending, inside the server's holding interval): at most 1 for a lock, at
   * most `permits` for a semaphore, or the cluster broke its contract.
   */
  holdersMax: number;
  errors: number;
  /** The first few distinct error messages. */
  errorSamples: string[];
}

const ERROR_SAMPLES_MAX = 5;

export async function runScenario(
  spec: ScenarioSpec,
  endpoints: string[],
  window: ScenarioWindow,
  tls: ClientTlsOptions | null = null,
): Promise<ScenarioOutcome> {
  const lockers = Array.from(
    { length: spec.sharedLocker === true ? 1 : spec.clients },
    () => new Locker({ endpoints, ...(tls === null ? {} : { tls }) }),
  );
  const [shared] = lockers;
  if (shared === undefined)
    throw new RangeError(`scenario ${spec.name}: it needs at least one client`);
  const latencies: number[] = [];
  const waits: number[] = [];
  const handoffs: number[] = [];
  /** Per key, when its last holder issued release(). */
  const releasedAt = new Map<string, number>();
  const holders = new Map<string, number>();
  let holdersMax = 0;
  const errorSamples = new Set<string>();
  let errors = 0;
  let measuring = false;
  let stopping = false;
  try {
    // Connect every client (and find the leader) before the clock starts.
    await Promise.all(lockers.map((locker) => locker.status()));
    const loop = async (locker: Locker, index: number) => {
      const key = spec.keyOf(index);
      const value = `${spec.name}-client-${index}`;
      const take = (): Promise<Lock> =>
        spec.permits === undefined
          ? locker.lock(key, value, spec.options)
          : locker.semaphore(key, value, { ...spec.options, permits: spec.permits });
      while (!stopping) {
        const startedAt = performance.now();
        try {
          const lock = await take();
          const grantedAt = performance.now();
          const previousReleaseAt = releasedAt.get(key);
          // A handoff: this lock() was already waiting when the previous holder let go.
          if (
            measuring &&
            spec.permits === undefined &&
            previousReleaseAt !== undefined &&
            previousReleaseAt > startedAt
          ) {
            handoffs.push(grantedAt - previousReleaseAt);
          }
          const inside = (holders.get(key) ?? 0) + 1;
          holders.set(key, inside);
          if (inside > holdersMax) holdersMax = inside;
          // Hold across one turn of the event loop, so other clients' grants can arrive meanwhile.
          await new Promise((resolve) => setImmediate(resolve));
          holders.set(key, (holders.get(key) ?? 1) - 1);
          releasedAt.set(key, performance.now());
          await lock.release();
          if (measuring) {
            latencies.push(performance.now() - startedAt);
            waits.push(grantedAt - startedAt);
          }
        } catch (error) {
          errors++;
          if (errorSamples.size < ERROR_SAMPLES_MAX) errorSamples.add(String(error));
        }
      }
    };
    // One Locker per client, or every client on the one shared Locker.
    const loops = Array.from({ length: spec.clients }, (_, index) =>
      loop(lockers[index] ?? shared, index),
    );
    await sleep(window.warmupMs);
    await window.onWindowOpen();
    const openedAt = performance.now();
    const errorsBefore = errors;
    measuring = true;
    await sleep(window.durationMs);
    measuring = false;
    const windowMs = performance.now() - openedAt;
    const errorsInWindow = errors - errorsBefore;
    await window.onWindowClose();
    stopping = true;
    await Promise.all(loops);
    return {
      cycles: latencies.length,
      windowMs,
      cyclesPerSecond: (latencies.length * 1000) / windowMs,
      latencyMs: summarize(latencies),
      waitMs: summarize(waits),
      handoffMs: summarize(handoffs),
      holdersMax,
      errors: errorsInWindow,
      errorSamples: [...errorSamples],
    };
  } finally {
    await Promise.all(lockers.map((locker) => locker.close()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
