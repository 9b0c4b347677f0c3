// The CN of a verified TLS client certificate, read from the connection's socket.
import type { Socket } from "node:net";

interface MaybeTlsSocket {
  authorized?: boolean;
  getPeerCertificate?: () => { subject?: Record<string, unknown> } | null;
}

/**
 * The certificate CN when the socket is TLS and the client's certificate was verified against the
 * configured CA; null otherwise (plain TCP, no certificate, or one that did not verify).
 */
export function certificateNameOf(socket: Socket): string | null {
  const tls = socket as unknown as MaybeTlsSocket;
  if (tls.authorized !== true || typeof tls.getPeerCertificate !== "function") return null;
  const subject = tls.getPeerCertificate()?.subject;
  const cn = subject?.CN;
  // A certificate with several CNs gives an array: ambiguous, so no name.
  return typeof cn === "string" && cn.length > 0 ? cn : null;
}
