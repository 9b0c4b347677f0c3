// What a server says at start about client authentication, and the authenticator it then uses.
import { isLoopbackHost } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import { loadAuthFile } from "./auth-file.js";
import { Authenticator } from "./authenticator.js";

/**
 * Loads the auth file (ConfigError naming it when unreadable or malformed) and logs the mode:
 * open mode is a warning unless the client port listens on loopback only.
 */
export async function startAuthentication(
  authFile: string | null,
  clientHost: string,
  logger: Logger,
): Promise<Authenticator | null> {
  if (authFile === null) {
    const fields = { authFile: null, clientHost };
    if (isLoopbackHost(clientHost)) {
      logger.info(fields, "no --auth-file: clients are not authenticated (loopback only)");
    } else {
      logger.warn(
        fields,
        "no --auth-file: any client that reaches the client port may take, release or force-release any lock and change membership; give --auth-file (docs/security.md)",
      );
    }
    return null;
  }
  const entries = await loadAuthFile(authFile);
  logger.info(
    { authFile, principals: entries.map((e) => e.principal.name) },
    "clients authenticate with the auth file",
  );
  return new Authenticator(entries);
}
