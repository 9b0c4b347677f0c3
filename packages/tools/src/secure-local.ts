// The credentials of `pnpm start:secure`: a development CA with node and client certificates
// (TLS on the client port, mutual TLS between the nodes) and an auth file with two principals
// whose tokens are written to files, plus the lines that tell the operator how to use them. The
// real-process test of the secure cluster starts it from these same functions.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeDevCertificates } from "./dev-certs.js";
import { LocalClusterError } from "./local-cluster.js";

/** The principals of the local secure cluster: their grants, and a client certificate each. */
export const SECURE_LOCAL_PRINCIPALS: Readonly<Record<string, readonly string[]>> = {
  admin: ["admin"],
  worker: ["lock:jobs/*", "read:*"],
};

export interface SecureLocalFiles {
  /** The `dlock certs init` folder: ca.pem, <node>.pem, client-<principal>.pem and their keys. */
  certsDir: string;
  ca: string;
  /** The auth file every node reads (--auth-file). */
  authFile: string;
  /** Per principal, the file holding its token (0600). */
  tokenFiles: Record<string, string>;
  /** Per principal, its client certificate and key (CN = the principal). */
  clientCerts: Record<string, { cert: string; key: string }>;
  /** What was made now (empty when everything was reused). */
  made: string[];
}

/**
 * Makes what is missing under `root` (certs/ and secure/) and reuses what exists: an existing
 * CA signs certificates added later, and an existing auth file is kept as it is (an operator may
 * have added principals) as long as the token files it was made with are there.
 */
export async function prepareSecureLocal(
  root: string,
  nodeIds: readonly string[],
): Promise<SecureLocalFiles> {
  const certsDir = join(root, "certs");
  const secureDir = join(root, "secure");
  const principals = Object.keys(SECURE_LOCAL_PRINCIPALS);
  const made: string[] = [];

  const missingNodes = nodeIds.filter((id) => !existsSync(join(certsDir, `${id}.pem`)));
  const missingClients = principals.filter(
    (name) => !existsSync(join(certsDir, `client-${name}.pem`)),
  );
  if (
    !existsSync(join(certsDir, "ca.pem")) ||
    missingNodes.length > 0 ||
    missingClients.length > 0
  ) {
    // Reuses ca.pem/ca-key.pem when present; the leaf certificates are issued again.
    await makeDevCertificates({ dir: certsDir, nodes: nodeIds, clients: principals });
    made.push(`certificates in ${certsDir}`);
  }

  const authFile = join(secureDir, "auth");
  const tokenFiles = Object.fromEntries(
    principals.map((name) => [name, join(secureDir, `${name}.token`)]),
  );
  await mkdir(secureDir, { recursive: true, mode: 0o700 });
  if (existsSync(authFile)) {
    const missing = Object.values(tokenFiles).filter((file) => !existsSync(file));
    if (missing.length > 0) {
      throw new LocalClusterError(
        `${authFile} exists but ${missing.join(", ")} does not: delete ${secureDir} to make new tokens`,
      );
    }
  } else {
    const { generateAuthToken, hashAuthToken } = await import("@dlock/server");
    const lines = ["# pnpm start:secure: NAME TOKEN-HASH GRANT... (docs/security.md)"];
    for (const [name, grants] of Object.entries(SECURE_LOCAL_PRINCIPALS)) {
      const token = generateAuthToken();
      await writeFile(tokenFileOf(tokenFiles, name), `${token}\n`, { mode: 0o600 });
      lines.push(`${name} ${hashAuthToken(token)} ${grants.join(" ")}`);
    }
    await writeFile(authFile, `${lines.join("\n")}\n`, { mode: 0o600 });
    made.push(`an auth file and tokens in ${secureDir}`);
  }

  return {
    certsDir,
    ca: join(certsDir, "ca.pem"),
    authFile,
    tokenFiles,
    clientCerts: Object.fromEntries(
      principals.map((name) => [
        name,
        {
          cert: join(certsDir, `client-${name}.pem`),
          key: join(certsDir, `client-${name}-key.pem`),
        },
      ]),
    ),
    made,
  };
}

/** The LocalCluster options that run the nodes with TLS, mutual TLS and the auth file. */
export function secureLocalClusterOptions(files: SecureLocalFiles): {
  tlsCertsDir: string;
  extraArgs: string[];
} {
  return { tlsCertsDir: files.certsDir, extraArgs: ["--auth-file", files.authFile] };
}

/** Environment of a `dlock` client of the secure cluster acting as `principal` with its token. */
export function secureLocalClientEnv(
  files: SecureLocalFiles,
  principal: string,
): Record<string, string> {
  return {
    DLOCK_TLS_CA: files.ca,
    DLOCK_AUTH_TOKEN_FILE: tokenFileOf(files.tokenFiles, principal),
  };
}

function tokenFileOf(tokenFiles: Readonly<Record<string, string>>, principal: string): string {
  const file = tokenFiles[principal];
  if (file === undefined) {
    throw new LocalClusterError(
      `no token file for principal ${principal}; there are: ${Object.keys(tokenFiles).join(", ")}`,
    );
  }
  return file;
}

/** What `pnpm start:secure` prints once the cluster is up: how to use it, command by command. */
export function secureLocalUsageLines(files: SecureLocalFiles, dlock: string): string[] {
  const env = (principal: string) =>
    Object.entries(secureLocalClientEnv(files, principal))
      .map(([name, value]) => `${name}=${value}`)
      .join(" ");
  const worker = files.clientCerts.worker;
  if (worker === undefined) throw new LocalClusterError("no client certificate for worker");
  return [
    "TLS on every client connection, mutual TLS between the nodes, and clients must authenticate:",
    `  admin (every key, membership, release --force): token in ${files.tokenFiles.admin}`,
    `  worker (lock jobs/*, read everything): token in ${files.tokenFiles.worker}`,
    `  auth file: ${files.authFile}; certificates (client-<name>.pem per principal): ${files.certsDir}`,
    "try, in another terminal:",
    `  ${env("admin")} ${dlock} status`,
    `  ${env("worker")} ${dlock} lock jobs/my-job -- sh -c 'echo token $DLOCK_FENCING_TOKEN; sleep 5'`,
    `  DLOCK_TLS_CA=${files.ca} DLOCK_TLS_CERT=${worker.cert} DLOCK_TLS_KEY=${worker.key} ${dlock} get jobs/my-job`,
  ];
}
