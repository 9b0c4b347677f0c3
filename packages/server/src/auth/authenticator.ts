// Who a client connection is: its auth token, else its verified TLS client certificate's CN.
import { UnauthenticatedError } from "@dlock/protocol";
import type { AuthEntry } from "./auth-file.js";
import { digestsEqual, presentedTokenDigest } from "./auth-token.js";
import type { Principal } from "./grants.js";

/** What a connection presented at its handshake. */
export interface ClientCredentials {
  /** The hello's auth token, or null. */
  authToken: string | null;
  /** The CN of a client certificate the TLS layer verified, or null. */
  certificateName: string | null;
}

export class Authenticator {
  private entries: readonly AuthEntry[];

  constructor(entries: readonly AuthEntry[]) {
    this.entries = entries;
  }

  /**
   * Uses `entries` from now on (auth file reload): every later authenticate() sees all of them or
   * none (open connections are checked again by the client server).
   */
  replace(entries: readonly AuthEntry[]): void {
    this.entries = entries;
  }

  get principalCount(): number {
    return this.entries.length;
  }

  /**
   * The principal of the credentials: a token decides when one is presented (it must be valid
   * even if a certificate is too); otherwise the certificate's CN must name a principal. Throws
   * UnauthenticatedError saying what is missing or wrong.
   */
  authenticate(credentials: ClientCredentials): Principal {
    if (credentials.authToken !== null) {
      const digest = presentedTokenDigest(credentials.authToken);
      let found: Principal | null = null;
      // Every stored digest is compared, in constant time each, whether or not one matched.
      for (const entry of this.entries) {
        if (entry.tokenDigest !== null && digestsEqual(entry.tokenDigest, digest)) {
          found = entry.principal;
        }
      }
      if (found === null) {
        throw new UnauthenticatedError(
          "the auth token is not in this server's auth file: check --auth-token (DLOCK_AUTH_TOKEN)",
        );
      }
      return found;
    }
    if (credentials.certificateName !== null) {
      const name = credentials.certificateName;
      const entry = this.entries.find((e) => e.principal.name === name);
      if (entry === undefined) {
        throw new UnauthenticatedError(
          `the client certificate's CN "${name}" names no principal in this server's auth file`,
        );
      }
      return entry.principal;
    }
    throw new UnauthenticatedError(
      "this server requires credentials: give an auth token (--auth-token, DLOCK_AUTH_TOKEN) or a client certificate",
    );
  }
}
