// Throughput of the peer transport between two nodes on loopback: AppendEntries-sized messages
// (one 64-byte entry each) sent in bursts, as a leader's Ready would.
// Run: npx vitest bench --run packages/server/test/transport
// Not a test: it asserts nothing and is not part of `vitest run`.
import { bench, describe } from "vitest";
import type { Message } from "@dlock/raft";
import { TcpPeerTransport } from "../../src/transport/tcp-peer-transport.js";

const MESSAGES_PER_ITERATION = 50_000;
const MESSAGES_PER_TURN = 500;

const n1 = new TcpPeerTransport({
  nodeId: "n1",
  clusterId: "bench",
  listen: "127.0.0.1:0",
  peers: {},
  sendQueueMessagesMax: 100_000,
});
const n2 = new TcpPeerTransport({
  nodeId: "n2",
  clusterId: "bench",
  listen: "127.0.0.1:0",
  peers: {},
});
await n1.start();
await n2.start();
n1.setPeers({ n2: `127.0.0.1:${n2.address().port}` });
n2.setPeers({ n1: `127.0.0.1:${n1.address().port}` });

let received = 0;
let expected = 0;
let done: (() => void) | null = null;
n2.onMessage(() => {
  received++;
  if (received === expected && done) done();
});

const data = new Uint8Array(64).fill(7);
const burst: Message[] = Array.from({ length: MESSAGES_PER_TURN }, (_, i) => ({
  type: "append",
  from: "n1",
  to: "n2",
  term: 3,
  prevIndex: i,
  prevTerm: 3,
  commit: i,
  entries: [{ index: i + 1, term: 3, kind: "normal", data }],
}));

// Warm the connection up.
expected = 1;
await new Promise<void>((resolve) => {
  done = resolve;
  n1.send([burst[0]]);
});

describe("peer transport, n1 → n2 on loopback", () => {
  bench(
    `${MESSAGES_PER_ITERATION} append messages in bursts of ${MESSAGES_PER_TURN} per turn`,
    async () => {
      received = 0;
      expected = MESSAGES_PER_ITERATION;
      const finished = new Promise<void>((resolve) => (done = resolve));
      for (let sent = 0; sent < MESSAGES_PER_ITERATION; sent += MESSAGES_PER_TURN) {
        n1.send(burst);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await finished;
    },
    { iterations: 10, warmupIterations: 2 },
  );
});
