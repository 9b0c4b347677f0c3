// The auth file (`dlock server --auth-file`): one principal per line, read at start and on SIGHUP.
//
//   # NAME     TOKEN-HASH           GRANT...
//   ci         sha256:<64 hex>      lock:jobs/* read:*
//   ops        sha256:<64 hex>      admin
//   worker-1   -                    lock:jobs/*      (client certificate with CN worker-1 only)
//
// TOKEN-HASH is what `dlock auth token` prints, or "-" for a principal that authenticates only by
// client certificate. GRANT is ROLE or ROLE:SCOPE (SCOPE: `*`, `prefix*` or one exact key; a bare
// role means `*`). `#` starts a comment. Names are unique, and so are token hashes.
import { readFile } from "node:fs/promises";
import { ConfigError } from "@dlock/protocol";
import { tokenHashBytes } from "./auth-token.js";
import { ROLES } from "./grants.js";
import type { Grant, Principal, Role } from "./grants.js";

/** A principal with the digest of its token (null: certificate only). */
export interface AuthEntry {
  principal: Principal;
  tokenDigest: Buffer | null;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const SCOPE_BYTES_MAX = 512;

function parseGrant(text: string, where: string): Grant {
  const colon = text.indexOf(":");
  const role = (colon === -1 ? text : text.slice(0, colon)) as Role;
  const scope = colon === -1 ? "*" : text.slice(colon + 1);
  if (!ROLES.includes(role)) {
    throw new ConfigError(
      "authFile",
      `${where}: unknown role "${role}" in grant "${text}" (roles: ${ROLES.join(", ")})`,
    );
  }
  if (scope.length === 0 || scope.length > SCOPE_BYTES_MAX) {
    throw new ConfigError(
      "authFile",
      `${where}: grant "${text}" needs a scope: *, prefix* or a key`,
    );
  }
  return { role, scope };
}

/** Parses the auth file's text. Throws ConfigError("authFile") naming the line at fault. */
export function parseAuthFile(text: string, source = "auth file"): AuthEntry[] {
  const entries: AuthEntry[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const where = `${source} line ${i + 1}`;
    const hash = line.indexOf("#");
    const fields = (hash === -1 ? line : line.slice(0, hash)).trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === "") continue;
    // split() yields at least one field; "" fails NAME_PATTERN like any other bad name.
    const [name = "", tokenHash, ...grantTexts] = fields;
    if (!NAME_PATTERN.test(name)) {
      throw new ConfigError(
        "authFile",
        `${where}: "${name}" is not a principal name (letters, digits, . _ @ -; at most 128)`,
      );
    }
    if (names.has(name)) throw new ConfigError("authFile", `${where}: "${name}" appears twice`);
    names.add(name);
    if (tokenHash === undefined || grantTexts.length === 0) {
      throw new ConfigError(
        "authFile",
        `${where}: expected NAME TOKEN-HASH GRANT... (TOKEN-HASH "-" for certificate only)`,
      );
    }
    let tokenDigest: Buffer | null = null;
    if (tokenHash !== "-") {
      tokenDigest = tokenHashBytes(tokenHash);
      if (tokenDigest === null) {
        throw new ConfigError(
          "authFile",
          `${where}: "${tokenHash}" is not a token hash; use the line \`dlock auth token\` prints`,
        );
      }
      if (hashes.has(tokenHash)) {
        throw new ConfigError("authFile", `${where}: this token hash is already another's`);
      }
      hashes.add(tokenHash);
    }
    const grants = grantTexts.map((grant) => parseGrant(grant, where));
    entries.push({ principal: { name, grants }, tokenDigest });
  }
  return entries;
}

/** Reads and parses the auth file at `path`. */
export async function loadAuthFile(path: string): Promise<AuthEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError("authFile", `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseAuthFile(text, path);
}
