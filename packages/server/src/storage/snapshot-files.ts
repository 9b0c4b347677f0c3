// Snapshot files in <data folder>/snapshots. A file appears under its final name only once its
// bytes are on disk (written to a temporary name, fsynced, renamed, folder fsynced), so a crash
// leaves either the whole file or a temporary one that the next start deletes. LevelDB ignores
// the folder: it only touches files whose names it generated.
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { SNAPSHOT_SCAN_STEP_BYTES, SnapshotScan } from "./snapshot-format.js";
import { SnapshotFileBytes } from "./snapshot-file-bytes.js";

export const SNAPSHOT_FOLDER = "snapshots";
const SUFFIX = ".snap";
const TEMPORARY_SUFFIX = ".tmp";

/** Appends bytes to a snapshot file being written. */
export type AppendSnapshotBytes = (pieces: readonly Uint8Array[]) => Promise<void>;

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
    await this.writeStreamed(name, (append) => append([data]));
  }

  /**
   * Writes durably under `name` (replacing a file of that name) what `produce` appends, as it
   * appends it: a snapshot is dumped to disk a piece at a time, never whole in memory. Returns the
   * file's size.
   */
  async writeStreamed(
    name: string,
    produce: (append: AppendSnapshotBytes) => Promise<void>,
  ): Promise<number> {
    const temporary = join(this.folder, `${name}.${++this.sequence}${TEMPORARY_SUFFIX}`);
    let bytes = 0;
    try {
      const handle = await open(temporary, "w");
      try {
        await produce(async (pieces) => {
          for (const piece of pieces) bytes += await writeAll(handle, piece);
        });
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, join(this.folder, name));
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    await this.syncFolder();
    return bytes;
  }

  /**
   * Checks the file `name` as snapshotProblem() checks bytes, reading it a step at a time. Returns
   * why it is not a well-formed snapshot of (index, term), or its bytes to read on demand.
   */
  async check(
    name: string,
    expected: { index: number; term: number },
  ): Promise<{ problem: string } | { bytes: SnapshotFileBytes }> {
    const path = join(this.folder, name);
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      const scan = new SnapshotScan(size, expected);
      const step = Buffer.allocUnsafe(Math.min(size, SNAPSHOT_SCAN_STEP_BYTES));
      for (let at = 0; at < size;) {
        const { bytesRead } = await handle.read(step, 0, Math.min(step.length, size - at), at);
        if (bytesRead === 0) return { problem: `the file ends at byte ${at} of ${size}` };
        scan.update(step.subarray(0, bytesRead));
        at += bytesRead;
      }
      const problem = scan.problem();
      return problem === null ? { bytes: new SnapshotFileBytes(path, size) } : { problem };
    } finally {
      await handle.close();
    }
  }

  /**
   * A fresh path for staging a leader's snapshot at (index, term) as it arrives: a temporary, so
   * the next start deletes one that a crash left.
   */
  stagingPath(index: number, term: number): string {
    const name = snapshotFileName(index, term);
    return join(this.folder, `${name}.${++this.sequence}.staging${TEMPORARY_SUFFIX}`);
  }

  /** The bytes of the file `name`, `byteLength` long, which were checked: read on demand. */
  bytesOf(name: string, byteLength: number): SnapshotFileBytes {
    return new SnapshotFileBytes(join(this.folder, name), byteLength);
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

  /** The path of the snapshot file `name`: a staged file is renamed to it. */
  pathOf(name: string): string {
    return join(this.folder, name);
  }

  /** A rename is durable only once the folder's entry is: fsync the folder itself (when syncing). */
  async syncFolder(): Promise<void> {
    if (!this.fsync) return;
    const handle = await open(this.folder, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<number> {
  let at = 0;
  while (at < data.length) {
    const { bytesWritten } = await handle.write(data, at, data.length - at);
    at += bytesWritten;
  }
  return data.length;
}

/** Writes all of `data` at `position` of the file (not at the file's own position). */
export async function writeAllAt(
  handle: FileHandle,
  data: Uint8Array,
  position: number,
): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const { bytesWritten } = await handle.write(data, at, data.length - at, position + at);
    at += bytesWritten;
  }
}
