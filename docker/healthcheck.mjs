// Docker HEALTHCHECK for a dlock node: healthy when GET /readyz on the node's own HTTP admin port
// answers 200 (the node sees a leader and has caught up). Runs with node alone: no curl needed.
// The port comes from DLOCK_HTTP (host:port), the same variable the server listens on.
const HEALTHCHECK_TIMEOUT_MS = 2_000;

const listen = process.env.DLOCK_HTTP ?? "0.0.0.0:7201";
const colon = listen.lastIndexOf(":");
const port = listen.slice(colon + 1);
let host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
// A wildcard listen address is reached through loopback.
if (host === "" || host === "0.0.0.0") host = "127.0.0.1";
if (host === "::") host = "::1";
const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/readyz`;

try {
  const response = await globalThis.fetch(url, {
    signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS),
  });
  if (response.status !== 200) {
    console.log(`${url}: ${response.status} ${await response.text()}`);
    process.exit(1);
  }
} catch (error) {
  console.log(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
