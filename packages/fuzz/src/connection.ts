// How the fuzzer reaches a port. Connection setup is one pluggable function so the same inputs
// run over plaintext loopback today and over TLS with a given certificate (e.g. a member's, for
// the peer port under mutual TLS) once the servers require it.
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { parseHostPort } from "@dlock/protocol";

/** Opens a byte stream to `host:port`; resolves once it is connected (and the TLS handshake done). */
export type Connect = (address: string) => Promise<Duplex>;

/** Plain TCP (a dev cluster on loopback). */
export const connectPlain: Connect = (address) =>
  new Promise((resolve, reject) => {
    const socket = net.connect(parseHostPort(address, "address"), () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });

/** TLS with the given client certificate, key and CA (PEM): a member's identity under mTLS. */
export function connectTls(options: {
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer;
  servername?: string;
}): Connect {
  return (address) =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({ ...parseHostPort(address, "address"), ...options }, () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    });
}
