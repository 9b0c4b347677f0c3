// Throwaway certificates for TLS tests, made with the openssl CLI in a temporary folder: a
// cluster CA with one node certificate, and a foreign CA with its own certificate.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TlsFixtures {
  ca: string;
  key: string;
  cert: string;
  foreignKey: string;
  foreignCert: string;
  foreignCa: string;
}

export function makeTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), "dlock-tls-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const authority = (name: string) => {
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}-ca.key`);
    run(
      "req",
      "-x509",
      "-new",
      "-key",
      `${name}-ca.key`,
      "-subj",
      `/CN=${name}-ca`,
      "-days",
      "2",
      "-out",
      `${name}-ca.crt`,
    );
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
    run("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}-node`, "-out", `${name}.csr`);
    run(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${name}-ca.crt`,
      "-CAkey",
      `${name}-ca.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      `${name}.crt`,
    );
    const read = (file: string) => readFileSync(join(dir, file), "utf8");
    return { ca: read(`${name}-ca.crt`), key: read(`${name}.key`), cert: read(`${name}.crt`) };
  };
  try {
    const cluster = authority("cluster");
    const foreign = authority("foreign");
    return {
      ...cluster,
      foreignKey: foreign.key,
      foreignCert: foreign.cert,
      foreignCa: foreign.ca,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
