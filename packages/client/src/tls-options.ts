// TLS from a client to the cluster. The server's certificate must chain to the cluster CA and be a
// dlock node's (a `dlock://node/<id>` URI name). Host names are not checked by default: nodes are
// often addressed by IP and clients follow NOT_LEADER redirects to advertised addresses, while the
// CA is the cluster's own; with `servername` the certificate must also match that host name.
import { checkServerIdentity } from "node:tls";
import type { ConnectionOptions, PeerCertificate } from "node:tls";
import { InvalidArgumentError } from "@dlock/protocol";

export interface ClientTlsOptions {
  /** PEM CA certificate(s) of the cluster. */
  ca: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate (for clusters that authenticate clients by certificate). */
  cert?: string | Buffer;
  /** PEM private key of `cert`. */
  key?: string | Buffer;
  /** Check the server certificate against this host name too (SNI is sent with it). */
  servername?: string;
}

const NODE_URI = "URI:dlock://node/";

function present(value: unknown): boolean {
  return typeof value === "string" ? value.length > 0 : Buffer.isBuffer(value) && value.length > 0;
}

/** Validates the options; InvalidArgumentError names the bad field. */
export function validateClientTlsOptions(tls: ClientTlsOptions): ClientTlsOptions {
  if (typeof tls !== "object" || tls === null) {
    throw new InvalidArgumentError("tls", "must be an object { ca, cert?, key?, servername? }");
  }
  const cas = Array.isArray(tls.ca) ? tls.ca : [tls.ca];
  if (cas.length === 0 || !cas.every(present)) {
    throw new InvalidArgumentError("tls.ca", "must be the cluster's PEM CA certificate");
  }
  if (present(tls.cert) !== present(tls.key)) {
    throw new InvalidArgumentError("tls.key", "cert and key go together: give both or neither");
  }
  if (
    tls.servername !== undefined &&
    (typeof tls.servername !== "string" || tls.servername === "")
  ) {
    throw new InvalidArgumentError("tls.servername", "must be a host name");
  }
  return tls;
}

/** Node's connect options for `tls`. */
export function tlsConnectOptions(tls: ClientTlsOptions): ConnectionOptions {
  validateClientTlsOptions(tls);
  const { servername } = tls;
  return {
    ca: tls.ca,
    ...(present(tls.cert) ? { cert: tls.cert, key: tls.key } : {}),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    checkServerIdentity: (_host: string, certificate: PeerCertificate) => {
      const names = certificate.subjectaltname ?? "";
      if (!names.split(", ").some((name) => name.startsWith(NODE_URI))) {
        return new Error(
          "the server's certificate is not a dlock node's (no dlock://node/<id> name)",
        );
      }
      return servername === undefined ? undefined : checkServerIdentity(servername, certificate);
    },
  };
}

/** A hint for a connection that failed before the hello: what is probably wrong and what to do. */
export function tlsFailureHint(error: Error | null, secure: boolean, opened: boolean): string {
  if (opened) return "";
  const code = (error as NodeJS.ErrnoException | null)?.code ?? "";
  if (secure && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return " (TLS: the server's certificate does not verify against the given CA: check --tls-ca / tls.ca)";
  }
  if (secure && /EPROTO|ECONNRESET/.test(code)) {
    return " (TLS handshake failed: the server may not speak TLS, or may require a client certificate)";
  }
  if (!secure && error === null) {
    return " (before answering the hello: if the cluster runs TLS, give --tls-ca / tls.ca)";
  }
  return "";
}
