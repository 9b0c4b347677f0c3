// The one-shot `certs` service of docker/compose.yaml: makes what a TLS cluster needs, with the
// same tool as `pnpm start:secure` (`dlock certs init`, `dlock auth token`), and hands each node
// only its own files. Idempotent: whatever exists is kept, so a second `up` changes nothing.
//
//   DLOCK_CERTS_DIR (/certs): the operator's volume. ca.pem and ca-key.pem, <id>.pem and
//     <id>-key.pem per node, client-<name>.pem per principal, the auth file `auth` (hashes only)
//     and <name>.token (the plaintext tokens, 0600). No node mounts it.
//   DLOCK_CERTS_NODE_ROOT (/tls): <root>/<id>/ is node <id>'s volume: ca.pem, node.pem,
//     node-key.pem and auth, copied from the certs folder on every run (mounted read-only there).
//   DLOCK_CERTS_NODES (n1,n2,n3); DLOCK_CERTS_HOSTS (localhost,127.0.0.1,::1): names every node
//     certificate carries besides its own id (the compose service name).
//   DLOCK_CERTS_OWNER (node:node): who owns the files when this runs as root.
//
// Never issues anything with a CA whose key is absent (ca.pem alone = certificates of your own PKI):
// then every node certificate must already be there, or it stops and says what is missing.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DLOCK = process.env.DLOCK_CERTS_CLI ?? "/app/dist/bin.js";
const certsDir = process.env.DLOCK_CERTS_DIR ?? "/certs";
const nodeRoot = process.env.DLOCK_CERTS_NODE_ROOT ?? "/tls";
const nodes = list(process.env.DLOCK_CERTS_NODES ?? "n1,n2,n3");
const hosts = list(process.env.DLOCK_CERTS_HOSTS ?? "localhost,127.0.0.1,::1");
const owner = process.env.DLOCK_CERTS_OWNER ?? "node:node";
// The principals of the auth file this makes: the same two as `pnpm start:secure`.
const PRINCIPALS = { admin: ["admin"], worker: ["lock:jobs/*", "read:*"] };

function list(text) {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function say(message) {
  console.log(`certs: ${message}`);
}

function fail(message) {
  console.error(`certs: ERROR: ${message}`);
  process.exit(1);
}

function dlock(args) {
  return execFileSync(process.execPath, [DLOCK, ...args], { encoding: "utf8" });
}

// Written beside the target and renamed: a node that reloads (SIGHUP) never reads half a file.
function install(from, to, mode) {
  const temporary = `${to}.tmp`;
  copyFileSync(from, temporary);
  chmodSync(temporary, mode);
  renameSync(temporary, to);
}

const inCerts = (name) => join(certsDir, name);
mkdirSync(certsDir, { recursive: true, mode: 0o700 });

// 1. Certificates: only the missing ones, signed by the existing CA when there is one.
const haveCa = existsSync(inCerts("ca.pem"));
const haveCaKey = existsSync(inCerts("ca-key.pem"));
if (haveCaKey && !haveCa) {
  fail(
    `${inCerts("ca-key.pem")} is there without ca.pem: restore ca.pem, or remove both for a new CA`,
  );
}
const missingNodes = nodes.filter(
  (id) => !existsSync(inCerts(`${id}.pem`)) || !existsSync(inCerts(`${id}-key.pem`)),
);
const missingClients = Object.keys(PRINCIPALS).filter(
  (name) => !existsSync(inCerts(`client-${name}.pem`)),
);
if (haveCa && !haveCaKey) {
  // Your own PKI: nothing can be signed here, and ca.pem must not be replaced.
  if (missingNodes.length > 0) {
    fail(
      `${inCerts("ca.pem")} has no ca-key.pem beside it, so no certificate can be made here, and ` +
        `${missingNodes.map((id) => `${id}.pem/${id}-key.pem`).join(", ")} are missing: put them ` +
        `in the certs volume (docker/README.md, "Bring your own certificates")`,
    );
  }
  say("ca.pem without ca-key.pem: using the node certificates that are there, issuing none");
} else {
  // One call per node: each certificate names its own service (how the others reach it).
  missingNodes.forEach((id, index) => {
    const clients = index === 0 ? missingClients : [];
    dlock([
      "certs",
      "init",
      "--dir",
      certsDir,
      "--nodes",
      id,
      "--hosts",
      [id, ...hosts].join(","),
      ...(clients.length > 0 ? ["--clients", clients.join(",")] : []),
    ]);
  });
  if (missingNodes.length === 0 && missingClients.length > 0) {
    // `certs init` issues client certificates only along with a node's; the nodes need none.
    say(`no ${missingClients.map((n) => `client-${n}.pem`).join(", ")}: tokens still work`);
  }
  say(
    missingNodes.length === 0
      ? "kept the CA and every certificate"
      : `${haveCa ? "kept the CA, " : "made a CA, "}issued ${missingNodes.join(", ")}`,
  );
}

// 2. The auth file and its tokens: kept when there (the operator may have added principals).
const authFile = inCerts("auth");
if (existsSync(authFile)) {
  say(`kept ${authFile}`);
} else {
  const lines = [
    "# docker/compose.yaml certs service: NAME TOKEN-HASH GRANT... (docs/security.md)",
  ];
  for (const [name, grants] of Object.entries(PRINCIPALS)) {
    const made = JSON.parse(
      dlock(["auth", "token", "--name", name, "--grant", ...grants, "--json"]),
    );
    writeFileSync(inCerts(`${name}.token`), `${made.token}\n`, { mode: 0o600 });
    chmodSync(inCerts(`${name}.token`), 0o600);
    lines.push(made.line);
  }
  // Last: a run cut short before this line makes new tokens next time instead of stale ones.
  writeFileSync(`${authFile}.tmp`, `${lines.join("\n")}\n`, { mode: 0o600 });
  renameSync(`${authFile}.tmp`, authFile);
  say(
    `made ${authFile} and ${Object.keys(PRINCIPALS)
      .map((n) => `${n}.token`)
      .join(", ")}`,
  );
}

// 3. Each node's volume: its own certificate and key, the CA certificate and the auth file.
for (const id of nodes) {
  const dir = join(nodeRoot, id);
  if (!existsSync(dir)) fail(`${dir} is missing: mount node ${id}'s TLS volume there`);
  install(inCerts("ca.pem"), join(dir, "ca.pem"), 0o644);
  install(inCerts(`${id}.pem`), join(dir, "node.pem"), 0o644);
  install(inCerts(`${id}-key.pem`), join(dir, "node-key.pem"), 0o600);
  install(authFile, join(dir, "auth"), 0o600);
}
if (process.getuid?.() === 0) {
  execFileSync("chown", ["-R", owner, certsDir, ...nodes.map((id) => join(nodeRoot, id))]);
}
say(`node files in ${nodes.map((id) => join(nodeRoot, id)).join(", ")}`);
