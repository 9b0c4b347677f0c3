// One `pnpm bench` scenario: N clients, each with its own Locker (its own connection), running
// acquire+release cycles (locker.lock() then lock.release(), as an application does) as fast as
// they can for a warm-up and then a measured window.
import { Locker } from "@dlock/client";
import type { ClientTlsOptions } from "@dlock/client";
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
    { length: spec.clients },
    () => new Locker({ endpoints, ...(tls === null ? {} : { tls }) }),
  );
  const latencies: number[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;
  let measuring = false;
  let stopping = false;
  try {
    // Connect every client (and find the leader) before the clock starts.
    await Promise.all(lockers.map((locker) => locker.status()));
    const loop = async (index: number) => {
      const locker = lockers[index];
      const key = spec.keyOf(index);
      const value = `${spec.name}-client-${index}`;
      while (!stopping) {
        const startedAt = performance.now();
        try {
          const lock = await locker.lock(key, value, spec.options);
          await lock.release();
          if (measuring) latencies.push(performance.now() - startedAt);
        } catch (error) {
          errors++;
          if (errorSamples.size < ERROR_SAMPLES_MAX) errorSamples.add(String(error));
        }
      }
    };
    const loops = lockers.map((_, index) => loop(index));
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
