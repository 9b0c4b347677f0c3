// The README's client example, run as written by the test suite
// (packages/cli/test/e2e/quick-start-example.test.ts). With a cluster running (`pnpm start`):
//   node examples/quick-start.mjs
// DLOCK_ENDPOINTS=host:port,... points it at another cluster.
import { Locker } from "@dlock/client";

const endpoints = (
  process.env.DLOCK_ENDPOINTS ?? "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
).split(",");

const locker = new Locker({ endpoints });
try {
  // Retries 3 times, 250 ms apart, if someone else holds it; then throws LockBusyError.
  const lock = await locker.lock("reports/daily", `worker-${process.pid}`, {
    ttl: "10s",
    retryLimit: 3,
  });
  try {
    console.log(`acquired ${lock.key} with fencing token ${lock.fencingToken}`);
    await doCriticalWork(lock.fencingToken, lock.signal); // the signal aborts if the lock is lost
  } finally {
    const { released, lost } = await lock.release();
    console.log(`released: ${released}${lost ? " (the lock had been lost)" : ""}`);
  }
} finally {
  await locker.close();
}

// The work the lock protects. It hands the fencing token to the resource it writes, so that the
// resource can refuse a writer whose token is older than one it has already seen.
async function doCriticalWork(fencingToken, signal) {
  for (let step = 1; step <= 3; step++) {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(`step ${step} written with token ${fencingToken}`);
  }
}
