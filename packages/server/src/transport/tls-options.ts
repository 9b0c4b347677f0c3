// Optional TLS for the peer and client ports. Peers use mutual TLS: both ends present a
// certificate signed by the cluster's CA and refuse any other. Host names are not checked: nodes
// are often addressed by IP, and the peer's identity is established by the CA plus the node id
// of the hello (a certificate is a cluster membership credential, not a per-host one).
import type { ConnectionOptions, TlsOptions as NodeTlsServerOptions } from "node:tls";

export interface TlsOptions {
  /** PEM private key of this node. */
  key: string | Buffer;
  /** PEM certificate of this node (chain allowed). */
  cert: string | Buffer;
  /**
   * PEM CA certificate(s) the other side's certificate must chain to. On the client port it is
   * optional: with it, clients must present a certificate signed by it (mutual TLS).
   */
  ca?: string | Buffer | Array<string | Buffer>;
}

export class TlsOptionsError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "TlsOptionsError";
  }
}

function present(value: unknown): boolean {
  return typeof value === "string" ? value.length > 0 : Buffer.isBuffer(value) && value.length > 0;
}

/** Checks that key and cert are given (and ca when `caRequired`). */
export function validateTlsOptions(tls: TlsOptions, name: string, caRequired: boolean): TlsOptions {
  if (!present(tls.key)) throw new TlsOptionsError(`${name}.key must be a PEM private key`);
  if (!present(tls.cert)) throw new TlsOptionsError(`${name}.cert must be a PEM certificate`);
  if (caRequired && tls.ca === undefined) {
    throw new TlsOptionsError(
      `${name}.ca is required: peers authenticate each other by the cluster CA`,
    );
  }
  return tls;
}

/** Listener options: present our certificate; with a CA, require and verify the other side's. */
export function tlsServerOptions(tls: TlsOptions): NodeTlsServerOptions {
  const withCa = tls.ca !== undefined;
  return {
    key: tls.key,
    cert: tls.cert,
    ...(withCa ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
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
