// Server option names from before the unit naming rule (<noun><Unit><Qualifier>: ttlMsMin, not
// ttlMinMs). The old names still work for one release, mapped onto the new ones; then they go.
import { ConfigError } from "@dlock/protocol";

export const DEPRECATED_SERVER_OPTION_NAMES = {
  ttlMinMs: "ttlMsMin",
  ttlMaxMs: "ttlMsMax",
  waitMaxMs: "waitMsMax",
  lockDelayMaxMs: "lockDelayMsMax",
} as const;

export interface DeprecatedServerOptions {
  /** @deprecated Use ttlMsMin; this name goes in the next release. */
  ttlMinMs?: number;
  /** @deprecated Use ttlMsMax; this name goes in the next release. */
  ttlMaxMs?: number;
  /** @deprecated Use waitMsMax; this name goes in the next release. */
  waitMaxMs?: number;
  /** @deprecated Use lockDelayMsMax; this name goes in the next release. */
  lockDelayMaxMs?: number;
}

/**
 * A copy of `options` with each deprecated name given moved to its new name. Giving both names of
 * one option is refused: which one was meant is not clear.
 */
export function renameDeprecatedServerOptions<T extends DeprecatedServerOptions>(options: T): T {
  const renamed = { ...options } as Record<string, unknown>;
  for (const [oldName, newName] of Object.entries(DEPRECATED_SERVER_OPTION_NAMES)) {
    if (renamed[oldName] === undefined) continue;
    if (renamed[newName] !== undefined) {
      throw new ConfigError(oldName, `is the old name of ${newName}: give ${newName} only`);
    }
    renamed[newName] = renamed[oldName];
    delete renamed[oldName];
  }
  return renamed as T;
}
