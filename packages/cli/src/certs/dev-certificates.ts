// A development certificate authority and the node and client certificates it signs, for
// `dlock certs init`, the secure local cluster and the tests. ECDSA P-256 through Node's WebCrypto
// (fast, no openssl binary needed); @peculiar/x509 builds the certificates.
//
// Node certificate: CN=<id>, SAN URI dlock://node/<id> (the identity peers check) plus the given
// host names and IPs. Client certificate: CN=<name> (what authorization maps to a principal), SAN
// URI dlock://client/<name>. Keys are written 0600.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as never);

export const NODE_URI_PREFIX = "dlock://node/";
export const CLIENT_URI_PREFIX = "dlock://client/";
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CERT_DAYS = 365;
export const DEFAULT_CERT_HOSTS: readonly string[] = ["127.0.0.1", "::1", "localhost"];
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface PemPair {
  cert: string;
  key: string;
}

export interface CertificateAuthority extends PemPair {
  keys: webcrypto.CryptoKeyPair;
  certificate: x509.X509Certificate;
}

export class CertificateError extends Error {
  readonly code = "INVALID_CERTIFICATE_REQUEST";
  constructor(message: string) {
    super(message);
    this.name = "CertificateError";
  }
}

function serialNumber(): string {
  // Positive (high bit clear), unique enough for a development CA.
  const bytes = randomBytes(16);
  bytes.writeUInt8(bytes.readUInt8(0) & 0x7f, 0);
  return bytes.toString("hex");
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

/** A new key pair for one certificate; extractable, since its private key is written out. */
async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

function checkName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new CertificateError(
      `${kind} name ${JSON.stringify(name)} must be 1-64 letters, digits, "_", "." or "-"`,
    );
  }
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // A minute back: clocks of the machines that check it may be a little behind.
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + days * DAY_MS) };
}

/** A new self-signed CA that can sign node and client certificates only (path length 0). */
export async function createCertificateAuthority(
  name = "dlock development CA",
  days = DEFAULT_CERT_DAYS,
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${name}`,
    ...validity(days),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    keys,
    certificate,
    cert: certificate.toString("pem"),
    key: await exportKey(keys.privateKey),
  };
}

/** Loads a CA written by writeCertificateAuthority (to sign more certificates later). */
export async function loadCertificateAuthority(
  cert: string,
  key: string,
): Promise<CertificateAuthority> {
  const certificate = new x509.X509Certificate(cert);
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(key),
    ALGORITHM,
    true,
    ["sign"],
  );
  const publicKey = await certificate.publicKey.export(ALGORITHM, ["verify"], webcrypto as never);
  return {
    keys: { privateKey: privateKey as webcrypto.CryptoKey, publicKey },
    certificate,
    cert,
    key,
  };
}

async function issue(
  ca: CertificateAuthority,
  commonName: string,
  names: x509.JsonGeneralName[],
  days: number,
): Promise<PemPair> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${commonName}`,
    issuer: ca.certificate.subject,
    ...validity(days),
    signingKey: ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // Nodes both accept and dial connections; clients only dial, but one kind keeps it simple.
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert: certificate.toString("pem"), key: await exportKey(keys.privateKey) };
}

/** A certificate for node `id`, valid for the given host names and IP addresses. */
export async function issueNodeCertificate(
  ca: CertificateAuthority,
  id: string,
  hosts: readonly string[] = DEFAULT_CERT_HOSTS,
  days = DEFAULT_CERT_DAYS,
): Promise<PemPair> {
  checkName("node", id);
  const names: x509.JsonGeneralName[] = [{ type: "url", value: `${NODE_URI_PREFIX}${id}` }];
  for (const host of hosts) {
    names.push(isIP(host) === 0 ? { type: "dns", value: host } : { type: "ip", value: host });
  }
  return issue(ca, id, names, days);
}

/** A certificate for client `name` (its CN). */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  name: string,
  days = DEFAULT_CERT_DAYS,
): Promise<PemPair> {
  checkName("client", name);
  return issue(ca, name, [{ type: "url", value: `${CLIENT_URI_PREFIX}${name}` }], days);
}

async function writePem(path: string, text: string, secret: boolean): Promise<void> {
  await writeFile(path, text, { mode: secret ? 0o600 : 0o644 });
  // The mode of writeFile applies to new files only; an overwritten key must not stay readable.
  if (secret) await chmod(path, 0o600);
}

export interface DevCertificatesOptions {
  dir: string;
  nodes: readonly string[];
  clients?: readonly string[];
  hosts?: readonly string[];
  days?: number;
}

export interface DevCertificateFiles {
  ca: string;
  caKey: string;
  nodes: Record<string, { cert: string; key: string }>;
  clients: Record<string, { cert: string; key: string }>;
}

/** The file names `dlock certs init` writes under `dir`. */
export function devCertificatePaths(
  dir: string,
  nodes: readonly string[],
  clients: readonly string[],
): DevCertificateFiles {
  return {
    ca: join(dir, "ca.pem"),
    caKey: join(dir, "ca-key.pem"),
    nodes: Object.fromEntries(
      nodes.map((id) => [id, { cert: join(dir, `${id}.pem`), key: join(dir, `${id}-key.pem`) }]),
    ),
    clients: Object.fromEntries(
      clients.map((name) => [
        name,
        { cert: join(dir, `client-${name}.pem`), key: join(dir, `client-${name}-key.pem`) },
      ]),
    ),
  };
}

/** The text of `path`, or null when it does not exist (any other read error is thrown). */
async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * Only both CA files or neither: with one of them alone, making a new CA would replace a CA that
 * existing certificates (and every node's --tls-ca) may chain to, or its only key.
 */
function checkCaPair(paths: DevCertificateFiles, cert: string | null, key: string | null): void {
  if (cert !== null && key === null) {
    throw new CertificateError(
      `${paths.ca} exists but ${paths.caKey} does not: refusing to replace that CA (certificates and nodes may trust it). To issue more certificates from it, put its key at ${paths.caKey}; to start over with a new CA, remove ${paths.ca} (then issue every certificate again)`,
    );
  }
  if (cert === null && key !== null) {
    throw new CertificateError(
      `${paths.caKey} exists but ${paths.ca} does not: refusing to replace that CA key. Put the CA certificate back at ${paths.ca}, or remove ${paths.caKey} to start over with a new CA (then issue every certificate again)`,
    );
  }
}

/**
 * Writes a CA (reused when `dir` already has ca.pem and ca-key.pem, so more certificates can be
 * added; refused when it has only one of them) and a certificate and key per node and client.
 */
export async function writeDevCertificates(
  options: DevCertificatesOptions,
): Promise<DevCertificateFiles> {
  const clients = options.clients ?? [];
  const days = options.days ?? DEFAULT_CERT_DAYS;
  const paths = devCertificatePaths(options.dir, options.nodes, clients);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  let ca: CertificateAuthority;
  const existing = await Promise.all([readIfExists(paths.ca), readIfExists(paths.caKey)]);
  checkCaPair(paths, existing[0], existing[1]);
  if (existing[0] !== null && existing[1] !== null) {
    ca = await loadCertificateAuthority(existing[0], existing[1]);
  } else {
    ca = await createCertificateAuthority(undefined, days);
    await writePem(paths.caKey, ca.key, true);
    await writePem(paths.ca, ca.cert, false);
  }
  for (const [id, files] of Object.entries(paths.nodes)) {
    const pair = await issueNodeCertificate(ca, id, options.hosts ?? DEFAULT_CERT_HOSTS, days);
    await writePem(files.key, pair.key, true);
    await writePem(files.cert, pair.cert, false);
  }
  for (const [name, files] of Object.entries(paths.clients)) {
    const pair = await issueClientCertificate(ca, name, days);
    await writePem(files.key, pair.key, true);
    await writePem(files.cert, pair.cert, false);
  }
  return paths;
}
