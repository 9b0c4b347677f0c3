// The README's watch, list and election example, run as written by the test suite
// (packages/cli/test/watch-list.cluster.test.ts). With a cluster running (`pnpm start`):
//   node examples/watch-elect.mjs
import { Locker } from "@dlock/client";

const endpoints = (
  process.env.DLOCK_ENDPOINTS ?? "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
).split(",");

const locker = new Locker({ endpoints });
try {
  // A linearizable page of the election's locks, and the revision it was read at.
  const { locks, revision } = await locker.list("election/reports");
  console.log(`${locks.length} lock(s) at revision ${revision}`);

  // Every change from that revision on, in committed order, resumed across reconnects.
  const seen = [];
  const watching = (async () => {
    for await (const event of locker.watch("election/reports", { fromRevision: revision + 1 })) {
      seen.push(`${event.type} ${event.value} token ${event.token}`);
      if (event.type === "released") break; // leaving the loop ends the watch
    }
  })();

  // Wait to lead "reports" (candidates lead in the order they asked), then step down.
  const leadership = await locker.campaign("reports", `worker-${process.pid}`, { ttl: "10s" });
  console.log(`leading with fencing token ${leadership.fencingToken}`);
  await leadership.resign();

  await watching;
  console.log(seen.join("\n"));
} finally {
  await locker.close();
}
