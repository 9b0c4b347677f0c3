// The README's semaphore example, run as written by the test suite
// (packages/cli/test/semaphore-command.cluster.test.ts). With a cluster running (`pnpm start`):
//   node examples/semaphore.mjs
import { Locker } from "@dlock/client";

const endpoints = (
  process.env.DLOCK_ENDPOINTS ?? "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
).split(",");

const locker = new Locker({ endpoints });
try {
  // Six workers, at most two inside at once: the others wait in a fair FIFO queue.
  await Promise.all(
    [1, 2, 3, 4, 5, 6].map((worker) =>
      locker.withSemaphore(
        "encoders",
        `worker-${process.pid}-${worker}`,
        { permits: 2, ttl: "10s", wait: "1m" },
        async ({ fencingToken, signal }) => {
          signal.throwIfAborted(); // stop as soon as the permit is lost
          console.log(`worker ${worker} encoding with fencing token ${fencingToken}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        },
      ),
    ),
  );
  console.log("all six workers done, never more than two at once");
} finally {
  await locker.close();
}
