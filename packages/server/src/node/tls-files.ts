// Loads the TLS files a server was configured with, for start and for a reload (SIGHUP).
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { TlsFiles } from "../config/server-options.js";
import { NODE_URI_PREFIX, nodeIdFromSubjectAltName } from "../transport/peer-certificate.js";
import { ConfigError } from "@dlock/protocol";
import { validateTlsOptions } from "../transport/tls-options.js";
import type { TlsOptions } from "../transport/tls-options.js";

/**
 * Reads and checks the three files, and that the certificate is node `nodeId`'s (peers would
 * refuse any other); ConfigError says which file failed and why.
 */
export async function loadTlsFiles(files: TlsFiles, nodeId: string): Promise<TlsOptions> {
  const read = async (option: string, flag: string, file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ConfigError(option, `${flag} ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const tls: TlsOptions = {
    cert: await read("tlsCertFile", "--tls-cert", files.certFile),
    key: await read("tlsKeyFile", "--tls-key", files.keyFile),
    ca: await read("tlsCaFile", "--tls-ca", files.caFile),
  };
  validateTlsOptions(tls, "TLS files", true);
  let named: string | null;
  try {
    named = nodeIdFromSubjectAltName(new X509Certificate(tls.cert).subjectAltName);
  } catch (error) {
    throw new ConfigError(
      "tlsCertFile",
      `--tls-cert ${files.certFile}: ${(error as Error).message}`,
    );
  }
  if (named !== nodeId) {
    throw new ConfigError(
      "tlsCertFile",
      `--tls-cert ${files.certFile} is ${named === null ? "no node's certificate" : `node "${named}"'s certificate`}, not "${nodeId}"'s (its subject alternative names need ${NODE_URI_PREFIX}${nodeId}; dlock certs init makes one)`,
    );
  }
  return tls;
}
