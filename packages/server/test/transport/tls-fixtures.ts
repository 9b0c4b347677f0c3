// Throwaway certificates for TLS tests, made with the openssl CLI in a temporary folder: a
// cluster CA with node certificates for n1..n3 (their id as the URI name dlock://node/<id>) and a
// client certificate (CN=alice, no node name), and a foreign CA with its own n1 certificate.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TlsFixtures {
  ca: string;
  /** Node certificates of the cluster CA, by node id (n1, n2, n3). */
  nodes: Record<string, KeyPair>;
  /** A client certificate of the cluster CA: signed by it, but naming no node. */
  client: KeyPair;
  /** n1's certificate of another CA. */
  foreignKey: string;
  foreignCert: string;
  foreignCa: string;
}

export function makeTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), "dlock-tls-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  const authority = (ca: string) => {
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${ca}-ca.key`);
    run(
      "req",
      "-x509",
      "-new",
      "-key",
      `${ca}-ca.key`,
      "-subj",
      `/CN=${ca}-ca`,
      "-days",
      "2",
      "-out",
      `${ca}-ca.crt`,
    );
    return read(`${ca}-ca.crt`);
  };
  const issue = (ca: string, file: string, commonName: string, uri: string): KeyPair => {
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${file}.key`);
    run("req", "-new", "-key", `${file}.key`, "-subj", `/CN=${commonName}`, "-out", `${file}.csr`);
    writeFileSync(join(dir, `${file}.ext`), `subjectAltName=URI:${uri},IP:127.0.0.1\n`);
    run(
      "x509",
      "-req",
      "-in",
      `${file}.csr`,
      "-CA",
      `${ca}-ca.crt`,
      "-CAkey",
      `${ca}-ca.key`,
      "-CAcreateserial",
      "-extfile",
      `${file}.ext`,
      "-days",
      "2",
      "-out",
      `${file}.crt`,
    );
    return { key: read(`${file}.key`), cert: read(`${file}.crt`) };
  };
  try {
    const ca = authority("cluster");
    const nodes: Record<string, KeyPair> = {};
    for (const id of ["n1", "n2", "n3"]) {
      nodes[id] = issue("cluster", id, id, `dlock://node/${id}`);
    }
    const client = issue("cluster", "alice", "alice", "dlock://client/alice");
    const foreignCa = authority("foreign");
    const foreign = issue("foreign", "foreign-n1", "n1", "dlock://node/n1");
    return {
      ca,
      nodes,
      client,
      foreignKey: foreign.key,
      foreignCert: foreign.cert,
      foreignCa,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
