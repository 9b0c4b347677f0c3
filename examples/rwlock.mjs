// The README's reader-writer lock example, run as written by the test suite
// (packages/cli/test/rwlock-command.cluster.test.ts). With a cluster running (`pnpm start`):
//   node examples/rwlock.mjs
import { Locker } from "@dlock/client";

const endpoints = (
  process.env.DLOCK_ENDPOINTS ?? "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
).split(",");

const locker = new Locker({ endpoints });
const options = { ttl: "10s", wait: "1m" };
const pause = () => new Promise((resolve) => setTimeout(resolve, 100));
try {
  // Four readers share the catalog; the writer waits for them, alone when it runs.
  let readers = 0;
  const reader = (n) =>
    locker.withReadLock(
      "catalog",
      `reader-${process.pid}-${n}`,
      async ({ signal }) => {
        signal.throwIfAborted(); // stop as soon as the lock is lost
        readers++;
        console.log(`reader ${n} in, ${readers} reading`);
        await pause();
        readers--;
      },
      options,
    );
  const writer = locker.withWriteLock(
    "catalog",
    `writer-${process.pid}`,
    async (lock) => {
      console.log(`writer in alone (${readers} reading), fencing token ${lock.fencingToken}`);
      await pause();
    },
    options,
  );
  await Promise.all([reader(1), reader(2), writer, reader(3), reader(4)]);
  console.log("done: readers shared the catalog, the writer had it alone");
} finally {
  await locker.close();
}
