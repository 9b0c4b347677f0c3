// The README's election example, run as written by the test suite
// (packages/cli/test/watch-list.cluster.test.ts). With a cluster running (`pnpm start`):
//   node examples/election.mjs
import { Locker } from "@dlock/client";

const endpoints = (
  process.env.DLOCK_ENDPOINTS ?? "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
).split(",");

// Two candidates with a connection each, as two processes would have.
const alice = new Locker({ endpoints });
const bob = new Locker({ endpoints });
const stop = new AbortController();
try {
  // Who leads "scheduler" now, then at every change (null: nobody).
  const leaders = alice.observe("scheduler", { signal: stop.signal });
  const showNext = async () => {
    const { value: leader } = await leaders.next();
    console.log(
      leader === null
        ? "leader: nobody"
        : `leader: ${leader.value}, fencing token ${leader.fencingToken}`,
    );
  };
  await showNext();

  // Alice leads; Bob waits in line (candidates lead in the order they campaigned).
  const aliceLeads = await alice.campaign("scheduler", "alice", { ttl: "10s" });
  await showNext();
  const bobLeads = bob.campaign("scheduler", "bob", { ttl: "10s" });

  // Alice steps down; Bob leads, with a greater fencing token; then he steps down too.
  await aliceLeads.resign();
  await showNext();
  await showNext();
  await (await bobLeads).resign();
  await showNext();
} finally {
  stop.abort();
  await Promise.all([alice.close(), bob.close()]);
}
