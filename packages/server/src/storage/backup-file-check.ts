// A backup file on disk checked as readBackup() checks bytes, a chunk at a time: `dlock snapshot
// save` verifies what it downloaded, and `inspect` a file, without reading either whole.
import { open } from "node:fs/promises";
import type { BackupHeader } from "./backup-file.js";
import { BackupScan } from "./backup-file.js";

const READ_STEP_BYTES = 1024 * 1024;

/** The verified header of the backup file at `path`; StorageError CORRUPT says what is wrong. */
export async function checkBackupFile(path: string): Promise<BackupHeader> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const scan = new BackupScan(size);
    const step = Buffer.allocUnsafe(Math.min(Math.max(size, 1), READ_STEP_BYTES));
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(step, 0, Math.min(step.length, size - at), at);
      if (bytesRead === 0) throw new Error(`${path} ends at byte ${at} of ${size}`);
      scan.update(step.subarray(0, bytesRead));
      at += bytesRead;
    }
    return scan.finish();
  } finally {
    await handle.close();
  }
}
