// The data folder's format version and how an older folder is brought up to date. The version is
// its own key (m:formatVersion), read before anything else, so a binary refuses a folder written
// by a newer one with a clear error instead of misreading its records. Format 2 folders written
// before the key existed carry the version only inside the identity record; opening one writes
// the key (the first migration). Each later format adds one step to MIGRATIONS.
import type { Level } from "level";
import { decodeUint64, encodeUint64 } from "./codec.js";
import { StorageError } from "./errors.js";
import { META_FORMAT_VERSION } from "./keys.js";

/**
 * The format this binary writes and reads. 2: members record, snapshots in files. 3: a snapshot
 * install is written in batches under a marker (m:installing) that an open finishes; a format 2
 * binary would read a folder left mid-install as a half-installed table, so it must refuse it.
 */
export const DATA_FORMAT_VERSION = 3;
/** The oldest format this binary migrates from (format 1 predates any release). */
export const DATA_FORMAT_VERSION_MIN = 2;

type Db = Level<Buffer, Buffer>;

interface Migration {
  /** What the step does, for the log. */
  what: string;
  /** Whether the folder needs the step (given the version read so far). */
  needed(stored: number | null): boolean;
  /** Adds the step's changes to one batch. */
  apply(batch: ReturnType<Db["batch"]>): void;
}

const MIGRATIONS: readonly Migration[] = [
  {
    what: "format 2 without a version key: the key is written",
    needed: (stored) => stored === null,
    apply: (batch) => batch.put(META_FORMAT_VERSION, encodeUint64(2)),
  },
  {
    // Nothing to rewrite: a format 2 folder is a format 3 folder with no install under way.
    what: "format 2 to 3: snapshot installs in batches under a marker",
    needed: (stored) => stored === null || stored === 2,
    apply: (batch) => batch.put(META_FORMAT_VERSION, encodeUint64(3)),
  },
];

/** The batch entry a fresh folder is created with. */
export function formatVersionRecord(): [Buffer, Buffer] {
  return [META_FORMAT_VERSION, encodeUint64(DATA_FORMAT_VERSION)];
}

/**
 * Checks the folder's format (the key, else the identity's `formatVersion`), refuses a newer or
 * an unsupported older one (FORMAT_UNSUPPORTED), and runs the migrations it needs in one synced
 * batch. Returns what was migrated (empty when nothing was).
 */
export async function migrateDataFormat(
  db: Db,
  dataDir: string,
  identityVersion: number | undefined,
  fsync: boolean,
): Promise<string[]> {
  const bytes = await db.get(META_FORMAT_VERSION);
  const stored = bytes === undefined ? null : decodeUint64(bytes);
  const version = stored ?? identityVersion;
  if (typeof version !== "number" || version > DATA_FORMAT_VERSION) {
    throw new StorageError(
      "FORMAT_UNSUPPORTED",
      `data folder ${dataDir} has format version ${String(version)}; this dlock reads versions ${DATA_FORMAT_VERSION_MIN} to ${DATA_FORMAT_VERSION}: run the newer dlock that wrote it, or start from a backup (dlock snapshot restore)`,
    );
  }
  if (version < DATA_FORMAT_VERSION_MIN) {
    throw new StorageError(
      "FORMAT_UNSUPPORTED",
      `data folder ${dataDir} has format version ${version}, older than any release (this dlock migrates from ${DATA_FORMAT_VERSION_MIN}): start the node with an empty folder and --join`,
    );
  }
  const steps = MIGRATIONS.filter((step) => step.needed(stored));
  if (steps.length === 0) return [];
  const batch = db.batch();
  for (const step of steps) step.apply(batch);
  await batch.write({ sync: fsync });
  return steps.map((step) => step.what);
}
