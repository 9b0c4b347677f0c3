// Optional TLS for the peer, client and admin ports. Peers use mutual TLS: both ends present a
// certificate signed by the cluster's CA and refuse any other. Host names are not checked: nodes
// are often addressed by IP, and a peer's identity is the node id its certificate names
// (peer-certificate.ts), which must match the node id of its hello on both ends.
import { createSecureContext } from "node:tls";
import type { ConnectionOptions, TlsOptions as NodeTlsServerOptions } from "node:tls";
import { ConfigError } from "@dlock/protocol";

export interface TlsOptions {
  /** PEM private key of this node. */
  key: string | Buffer;
  /** PEM certificate of this node (chain allowed). */
  cert: string | Buffer;
  /**
   * PEM CA certificate(s) the other side's certificate must chain to. Required on the peer port.
   * On the client port, whether a client must present one is `ClientCertificateMode`.
   */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * Client certificates on the client port: "require" refuses a client without a valid one,
 * "request" verifies one when presented (refusing an invalid one) and lets others in (they
 * authenticate otherwise), "none" never asks.
 */
export type ClientCertificateMode = "require" | "request" | "none";
export const CLIENT_CERTIFICATE_MODES: readonly ClientCertificateMode[] = [
  "require",
  "request",
  "none",
];

function present(value: unknown): boolean {
  return typeof value === "string" ? value.length > 0 : Buffer.isBuffer(value) && value.length > 0;
}

/** Checks that key and cert are given (and ca when `caRequired`), and that they load. */
export function validateTlsOptions(tls: TlsOptions, name: string, caRequired: boolean): TlsOptions {
  if (!present(tls.key)) throw new ConfigError(`${name}.key`, "must be a PEM private key");
  if (!present(tls.cert)) throw new ConfigError(`${name}.cert`, "must be a PEM certificate");
  if (caRequired && tls.ca === undefined) {
    throw new ConfigError(
      `${name}.ca`,
      "is required: peers authenticate each other by the cluster CA",
    );
  }
  try {
    // Catches a key that does not match the certificate, or unreadable PEM, before any listener.
    createSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca });
  } catch (error) {
    throw new ConfigError(name, `cannot load the key/certificate: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return tls;
}

/**
 * Listener options: present our certificate; with a CA, verify the other side's. `mode` says
 * whether a certificate is required (the peer port always requires one).
 */
export function tlsServerOptions(
  tls: TlsOptions,
  mode: ClientCertificateMode = "require",
): NodeTlsServerOptions {
  const verify = tls.ca !== undefined && mode !== "none";
  return {
    key: tls.key,
    cert: tls.cert,
    // "request" lets a client without a certificate in; the connection checks `authorized`
    // for one that presented an invalid certificate.
    ...(verify ? { ca: tls.ca, requestCert: true, rejectUnauthorized: mode === "require" } : {}),
    minVersion: "TLSv1.2",
  };
}

/** Dialer options for a peer link: mutual TLS against the cluster CA. */
export function tlsPeerConnectOptions(tls: TlsOptions): ConnectionOptions {
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
    minVersion: "TLSv1.2",
  };
}
