// What the deployment tests (scripts/test-netns.mjs, scripts/test-docker.mjs) share: timestamped
// log lines, named checks with pass/fail counters, polling with a generous deadline and progress
// notes, and reading the inputs their shell halves set.

/** One line with the time of day (UTC), so a slow step shows in the output. */
export function log(message) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error as one line: its class, its code if any, its message. */
export function describe(error) {
  if (error instanceof Error) {
    const code = "code" in error && error.code ? ` [${String(error.code)}]` : "";
    return `${error.name}${code}: ${error.message}`;
  }
  return String(error);
}

/** The variable `name`, which `setBy` (the shell half) must have set. */
export function requiredEnv(name, setBy) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (${setBy} sets it)`);
  return value;
}

/** Thrown by a waitFor probe when waiting longer cannot help (e.g. a server exited). */
export class StopWaiting extends Error {}

/**
 * Polls `probe` until it returns a value other than undefined, and returns it. Other errors of the
 * probe are retried until the deadline (the last one is reported), StopWaiting ends at once.
 */
export async function waitFor(
  what,
  deadlineMs,
  probe,
  { intervalMs = 500, progressIntervalMs = 5_000 } = {},
) {
  const startedMs = performance.now();
  let lastProgressMs = startedMs;
  let lastNote = "";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastNote = describe(error);
    }
    const nowMs = performance.now();
    if (nowMs - startedMs > deadlineMs) {
      throw new Error(`${what}: not within ${deadlineMs / 1000} s (last: ${lastNote || "none"})`);
    }
    if (nowMs - lastProgressMs >= progressIntervalMs) {
      lastProgressMs = nowMs;
      const seconds = ((nowMs - startedMs) / 1000).toFixed(0);
      log(`  ... waiting for ${what} (${seconds} s)${lastNote ? `: ${lastNote}` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/** Named checks: each prints "ok" or "FAIL" with its duration and is counted. */
export class Checks {
  passed = 0;
  failed = 0;
  #reported = new WeakSet();

  /** Runs `body`; its result (a string) is printed after the name. A failure is rethrown. */
  async check(name, body) {
    const startedMs = performance.now();
    try {
      const detail = await body();
      this.passed += 1;
      const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
      log(`ok   ${name} (${seconds} s)${detail ? `: ${detail}` : ""}`);
    } catch (error) {
      this.failed += 1;
      log(`FAIL ${name}: ${describe(error)}`);
      if (error instanceof Error) this.#reported.add(error);
      throw error;
    }
  }

  /** Counts and prints an error thrown outside a check (a failed check has reported itself). */
  fail(error) {
    if (error instanceof Error && this.#reported.has(error)) return;
    this.failed += 1;
    log(`FAIL ${describe(error)}`);
  }

  /** "N passed, N failed". */
  summary() {
    return `${this.passed} passed, ${this.failed} failed`;
  }

  /** 0 when every check passed and nothing else failed, else 1. */
  exitCode() {
    return this.failed === 0 ? 0 : 1;
  }
}
