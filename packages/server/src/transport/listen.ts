// Starting and reading the listeners of the three ports (peer, client, admin) the same way.
import type { AddressInfo, Server } from "node:net";
import type { HostPort } from "@dlock/protocol";

/**
 * Listens on `host:port`. A listen failure (port in use, address not on this machine) rejects
 * the promise instead of reaching the server's "error" listeners.
 */
export function listen(server: Server, { host, port }: HostPort): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** The address `server` is bound to (useful with port 0); `what` names it in the error. */
export function boundAddress(server: Server, what: string): HostPort {
  const address = server.address() as AddressInfo | null;
  if (address === null) throw new Error(`${what} is not listening`);
  return { host: address.address, port: address.port };
}
