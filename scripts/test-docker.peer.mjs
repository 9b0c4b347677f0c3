// The peer-port half of `pnpm test:docker`: the Raft port 7101 is not published, so
// scripts/test-docker.sh runs this inside a container on the compose network:
//   docker run -i --rm --network <project network> -v <certs volume>:/certs:ro \
//     --entrypoint node <image> --input-type=module - < scripts/test-docker.peer.mjs
// Against every node's peer port it checks that a dialler without a node certificate gets
// nowhere: plain TCP, and TLS that trusts the cluster's CA but presents no certificate, each
// sending a well-formed peer hello that claims another member. Refused = the TLS handshake fails
// or the connection closes without one byte of answer (a node that took such a peer would answer
// the hello). The port must be reachable (TCP connected) for a refusal to count.
// Input (environment): DLOCK_TEST_PEERS (n1=n1:7101,...), DLOCK_TEST_CLUSTER_ID, DLOCK_TEST_CA,
// DLOCK_TEST_CLI (the CLI whose @dlock/protocol to use; /app/dist/bin.js in the image).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import tls from "node:tls";
import { pathToFileURL } from "node:url";

// Generous: three nodes on two shared cores.
const REFUSAL_DEADLINE_MS = 20_000;

const peers = (process.env.DLOCK_TEST_PEERS ?? "n1=n1:7101,n2=n2:7101,n3=n3:7101")
  .split(",")
  .map((pair) => pair.split("="));
const clusterId = process.env.DLOCK_TEST_CLUSTER_ID ?? "dlock-docker";
const ca = readFileSync(process.env.DLOCK_TEST_CA ?? "/certs/ca.pem");
// The image's own protocol package, as the server resolves it (a dependency of @dlock/server,
// not of the CLI itself): the hello is the real encoding.
const requireFromCli = createRequire(process.env.DLOCK_TEST_CLI ?? "/app/dist/bin.js");
const protocolPath = createRequire(requireFromCli.resolve("@dlock/server")).resolve(
  "@dlock/protocol",
);
const { FrameEncoder, PROTOCOL_VERSION } = await import(pathToFileURL(protocolPath).href);

let passed = 0;
let failed = 0;

function peerHello(nodeId) {
  return new FrameEncoder().encode({
    type: "hello",
    protocolVersion: PROTOCOL_VERSION,
    clusterId,
    role: "peer",
    nodeId,
  });
}

// Connects, sends the hello once connected, and reports how the connection ended.
function attempt(address, secure, hello) {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const outcome = { connected: false, answered: 0, error: null, closed: false };
    const socket = secure
      ? tls.connect({ host, port: Number(port), ca, checkServerIdentity: () => undefined })
      : net.connect({ host, port: Number(port) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(outcome);
    }, REFUSAL_DEADLINE_MS);
    // TCP is up: the port is reachable, so whatever follows is the node's answer.
    socket.once("connect", () => {
      outcome.connected = true;
    });
    socket.once(secure ? "secureConnect" : "connect", () => socket.write(hello));
    socket.on("data", (chunk) => {
      outcome.answered += chunk.length;
    });
    socket.on("error", (error) => {
      outcome.error = error.code ?? error.message;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      outcome.closed = true;
      resolve(outcome);
    });
  });
}

function report(ok, what, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} peer port: ${what}: ${detail}`);
  if (ok) passed += 1;
  else failed += 1;
}

for (const [id, address] of peers) {
  const claimed = peers.find(([other]) => other !== id)[0];
  for (const secure of [false, true]) {
    const what = `${address} (${id}), ${secure ? "TLS with the CA, no certificate" : "plain TCP"}, hello as ${claimed}`;
    const outcome = await attempt(address, secure, peerHello(claimed));
    const refused = outcome.connected && outcome.closed && outcome.answered === 0;
    report(
      refused,
      what,
      !outcome.connected
        ? `never connected (${outcome.error ?? "no error"}): the port must be reachable`
        : outcome.answered > 0
          ? `the node answered ${outcome.answered} bytes`
          : outcome.closed
            ? `refused (${outcome.error ?? "closed"})`
            : `still open after ${REFUSAL_DEADLINE_MS / 1000} s`,
    );
  }
}
console.log(`peer port: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
