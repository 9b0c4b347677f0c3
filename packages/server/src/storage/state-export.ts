// The replicated state at one applied index, held open for a reader (`dlock snapshot save`):
// dumped as snapshot bytes a piece at a time, never whole in memory, and as often as the reader
// needs (once to size and summarise it, once to send it), the same bytes each time.
import type { ClusterMembers } from "./members-record.js";
import type { AppendSnapshotBytes } from "./snapshot-files.js";

export interface StateExport {
  index: number;
  term: number;
  /**
   * Hands the snapshot bytes to `append` in order (awaiting each call: the reader sets the
   * pace), and each lock record (LevelDB key and value) to `onLockRecord` as it is read.
   * Resolves with the members record.
   */
  dump(
    append: AppendSnapshotBytes,
    onLockRecord?: (key: Buffer, value: Buffer) => void,
  ): Promise<ClusterMembers>;
  /** Releases the state (a LevelDB snapshot); no dump after this. */
  close(): Promise<void>;
}
