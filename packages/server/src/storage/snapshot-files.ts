// Snapshot files in <data folder>/snapshots. A file appears under its final name only once its
// bytes are on disk (written to a temporary name, fsynced, renamed, folder fsynced), so a crash
// leaves either the whole file or a temporary one that the next start deletes. LevelDB ignores
// the folder: it only touches files whose names it generated.
import { mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

export const SNAPSHOT_FOLDER = "snapshots";
const SUFFIX = ".snap";
const TEMPORARY_SUFFIX = ".tmp";

/** The file name of the snapshot at (index, term): sortable, one per snapshot. */
export function snapshotFileName(index: number, term: number): string {
  return `${hex(term)}-${hex(index)}${SUFFIX}`;
}

function hex(value: number): string {
  return value.toString(16).padStart(16, "0");
}

export class SnapshotFiles {
  readonly folder: string;
  private readonly fsync: boolean;
  private sequence = 0;

  constructor(dataDir: string, fsync: boolean) {
    this.folder = join(dataDir, SNAPSHOT_FOLDER);
    this.fsync = fsync;
  }

  async prepare(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
  }

  /** Writes `data` durably under `name` (replacing a file of that name). */
  async write(name: string, data: Uint8Array): Promise<void> {
    const temporary = join(this.folder, `${name}.${++this.sequence}${TEMPORARY_SUFFIX}`);
    try {
      const handle = await open(temporary, "w");
      try {
        let at = 0;
        while (at < data.length) {
          const { bytesWritten } = await handle.write(data, at, data.length - at);
          at += bytesWritten;
        }
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, join(this.folder, name));
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    if (this.fsync) await this.syncFolder();
  }

  async read(name: string): Promise<Buffer> {
    return readFile(join(this.folder, name));
  }

  /**
   * Deletes every snapshot file but `keep`, and with `temporaries` the half-written ones too
   * (only at open: while the node runs, a compaction may be writing one). Returns the names.
   */
  async removeAllBut(keep: string | null, temporaries = false): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.folder)) {
      if (name === keep) continue;
      if (!name.endsWith(SUFFIX) && !(temporaries && name.endsWith(TEMPORARY_SUFFIX))) continue;
      await rm(join(this.folder, name), { force: true });
      removed.push(name);
    }
    return removed;
  }

  /** A rename is durable only once the folder's entry is: fsync the folder itself. */
  private async syncFolder(): Promise<void> {
    const handle = await open(this.folder, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
