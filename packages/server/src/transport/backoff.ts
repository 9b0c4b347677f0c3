// Reconnect delays: exponential growth from a floor to a cap, with "equal jitter" (half fixed,
// half random) so peers that lost a node together do not all redial it in the same instant.

export interface BackoffOptions {
  /** Delay before the first retry, before jitter. */
  delayMsMin: number;
  /** Upper bound of any delay. */
  delayMsMax: number;
}

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry after a failure).
 * Always within [delayMsMin / 2, delayMsMax]. `random` returns a number in [0, 1).
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
): number {
  // 2^30 already exceeds any sane cap; clamping the exponent avoids Infinity.
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const ceiling = Math.min(options.delayMsMax, options.delayMsMin * 2 ** exponent);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}
