// How much disk a data folder takes: the figure compaction must keep bounded.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Total size in bytes of the regular files under `dir` (recursively); 0 if it does not exist. */
export async function folderBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (entry.isFile()) {
      try {
        total += (await stat(path)).size;
      } catch (error) {
        // LevelDB deletes files as it compacts; one gone between readdir and stat is not an error.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  }
  return total;
}
