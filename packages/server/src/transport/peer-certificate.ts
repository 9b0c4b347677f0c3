// Who a TLS certificate names. A node certificate carries its node id as the URI subject
// alternative name `dlock://node/<id>` (the CN repeats it for humans); a client certificate carries
// its name as the CN and as `dlock://client/<name>`. The URI, not the CN, decides peer identity, so a
// client certificate from the same CA can never pass as a node.
import type { PeerCertificate } from "node:tls";

export const NODE_URI_PREFIX = "dlock://node/";
export const CLIENT_URI_PREFIX = "dlock://client/";

/**
 * The node id a subject alternative name list ("URI:a, IP Address:b" in Node's notation) names,
 * or null (none, or more than one: ambiguous).
 */
export function nodeIdFromSubjectAltName(names: string | undefined): string | null {
  if (typeof names !== "string") return null;
  const ids = names
    .split(", ")
    .filter((name) => name.startsWith(`URI:${NODE_URI_PREFIX}`))
    .map((name) => name.slice(`URI:${NODE_URI_PREFIX}`.length));
  const id = ids.length === 1 ? ids[0] : undefined;
  return id !== undefined && id.length > 0 ? id : null;
}

/** The node id a peer's certificate names, or null. */
export function nodeIdFromCertificate(
  certificate: PeerCertificate | null | undefined,
): string | null {
  return nodeIdFromSubjectAltName(certificate?.subjectaltname);
}

/** The client name of a client certificate (its CN), or null. For mapping a certificate to a principal. */
export function clientNameFromCertificate(
  certificate: PeerCertificate | null | undefined,
): string | null {
  const cn = certificate?.subject?.CN;
  const name = Array.isArray(cn) ? null : cn;
  return typeof name === "string" && name.length > 0 ? name : null;
}
