// Docker HEALTHCHECK for a dlock node: healthy when GET /readyz on the node's own admin port
// answers 200 (the node sees a leader and has caught up). Runs with node alone: no curl needed.
// It reads the server's own variables: DLOCK_HTTP (host:port) for the port, and with
// DLOCK_ADMIN_TLS on, HTTPS verified against DLOCK_TLS_CA (the certificate must chain to the
// cluster's CA; the host name is not checked: this is the node's own port, reached on loopback).
import { readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";

const HEALTHCHECK_TIMEOUT_MS = 2_000;

const listen = process.env.DLOCK_HTTP ?? "0.0.0.0:7201";
const colon = listen.lastIndexOf(":");
const port = listen.slice(colon + 1);
let host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
// A wildcard listen address is reached through loopback.
if (host === "" || host === "0.0.0.0") host = "127.0.0.1";
if (host === "::") host = "::1";
// The server's own reading of DLOCK_ADMIN_TLS (it refuses to start on any other word).
const secure = ["1", "true", "yes", "on"].includes(
  (process.env.DLOCK_ADMIN_TLS ?? "").trim().toLowerCase(),
);
const url = `${secure ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}/readyz`;

function fail(message) {
  console.log(`${url}: ${message}`);
  process.exit(1);
}

let tlsOptions = {};
if (secure) {
  const caFile = process.env.DLOCK_TLS_CA;
  if (!caFile) fail("DLOCK_ADMIN_TLS is on but DLOCK_TLS_CA is not set");
  try {
    tlsOptions = { ca: readFileSync(caFile), checkServerIdentity: () => undefined };
  } catch (error) {
    fail(`cannot read the CA ${caFile}: ${error.message}`);
  }
}

const request = (secure ? httpsGet : httpGet)(
  url,
  { ...tlsOptions, signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS) },
  (response) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => {
      if (response.statusCode !== 200) fail(`${response.statusCode} ${body}`);
      process.exit(0);
    });
  },
);
request.on("error", (error) => fail(error.message));
