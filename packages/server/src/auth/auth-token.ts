// Auth tokens: 256-bit random secrets made by `dlock auth token`, stored in the auth file only as
// their SHA-256. A fast hash is sound here because a token is not a password: with 256 bits of
// entropy nobody can search the preimage space, so a slow KDF would only cost every handshake.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Every token starts with this, so a leaked one is easy to recognise (and to scan for). */
export const AUTH_TOKEN_PREFIX = "dlk_";
const AUTH_TOKEN_RANDOM_BYTES = 32;
/** How the hash column of the auth file starts. */
export const TOKEN_HASH_PREFIX = "sha256:";

/** A new token: the prefix and 32 random bytes in base64url (47 characters). */
export function generateAuthToken(): string {
  return AUTH_TOKEN_PREFIX + randomBytes(AUTH_TOKEN_RANDOM_BYTES).toString("base64url");
}

/** The auth file's form of a token: "sha256:" and 64 hex digits. */
export function hashAuthToken(token: string): string {
  return TOKEN_HASH_PREFIX + createHash("sha256").update(token, "utf8").digest("hex");
}

/** The 32 bytes of a "sha256:<hex>" hash, or null when it is not one. */
export function tokenHashBytes(hash: string): Buffer | null {
  if (!hash.startsWith(TOKEN_HASH_PREFIX)) return null;
  const hex = hash.slice(TOKEN_HASH_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return null;
  return Buffer.from(hex, "hex");
}

/** SHA-256 of a presented token, for comparison with tokenHashBytes in constant time. */
export function presentedTokenDigest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Constant-time equality of two 32-byte digests. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
