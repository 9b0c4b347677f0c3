// `dlock snapshot save` on a real LevelStorage: the backup is dumped from a LevelDB snapshot a
// piece at a time (no piece near the size of the table), its bytes are what `snapshot restore`
// reads (readBackup accepts them and finds the stored snapshot), and BackupScan checks the file
// in pieces of any size exactly as readBackup checks it whole.
import { afterEach, describe, expect, it } from "vitest";
import { BackupScan, backupOf, readBackup } from "../../src/storage/backup-file.js";
import { StorageError } from "../../src/storage/errors.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { confStateOf } from "../../src/storage/members-record.js";
import { encodeStateSnapshot } from "../../src/storage/snapshot-state.js";
import { heldKeyRecord, tempDir } from "./helpers.js";

const MEMBERS = { voters: ["n1"], learners: [], peerAddresses: { n1: "127.0.0.1:7101" } };
const RECORDS = 20_000;
/** The snapshot encoder's piece: what a dump hands on at a time (bigger values aside). */
const PIECE_BYTES = 256 * 1024;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function table(count: number): Array<[string, Uint8Array]> {
  const records: Array<[string, Uint8Array]> = [];
  for (let i = 1; i <= count; i++) {
    const key = `backup/${i}`;
    records.push([key, heldKeyRecord(key, `holder-${i}-${"x".repeat(40)}`, i)]);
  }
  return records;
}

/** A LevelStorage holding `data` (installed as a leader's snapshot at its index). */
async function storageWith(data: Buffer, index: number, term: number): Promise<LevelStorage> {
  const { dir, cleanup } = await tempDir("backup-stream");
  const storage = await LevelStorage.open({
    dataDir: dir,
    clusterId: "c",
    nodeId: "n1",
    initialMembers: MEMBERS,
    fsync: false,
  });
  cleanups.push(async () => {
    await storage.close();
    await cleanup();
  });
  await storage.write([
    {
      snapshot: { metadata: { index, term, confState: confStateOf(MEMBERS) }, data },
      mustSync: true,
    },
  ]);
  return storage;
}

async function saved(storage: LevelStorage): Promise<{ file: Buffer; largestWrite: number }> {
  const backup = await backupOf(await storage.exportState(), {
    clusterId: "c",
    savedBy: "n1",
    savedAt: "2026-12-04T00:00:00.000Z",
  });
  const writes: Uint8Array[] = [];
  try {
    await backup.writeTo(async (bytes) => void writes.push(Buffer.from(bytes)));
  } finally {
    await backup.close();
  }
  const file = Buffer.concat(writes);
  expect(file.length).toBe(backup.byteLength);
  return { file, largestWrite: Math.max(...writes.map((w) => w.length)) };
}

function scanInPieces(file: Uint8Array, pieceBytes: number): ReturnType<BackupScan["finish"]> {
  const scan = new BackupScan(file.length);
  for (let at = 0; at < file.length; at += pieceBytes) {
    scan.update(file.subarray(at, at + pieceBytes));
  }
  return scan.finish();
}

describe("backup of a LevelStorage, streamed", () => {
  it("sends a table of several pieces a piece at a time, as the bytes restore reads", async () => {
    const records = table(RECORDS);
    const data = encodeStateSnapshot(500, 4, records, MEMBERS);
    expect(data.length).toBeGreaterThan(4 * PIECE_BYTES);
    const storage = await storageWith(data, 500, 4);

    const { file, largestWrite } = await saved(storage);
    expect(largestWrite).toBeLessThanOrEqual(PIECE_BYTES);

    const { header, snapshot } = readBackup(file);
    expect(header).toMatchObject({
      clusterId: "c",
      index: 500,
      term: 4,
      records: RECORDS,
      maxFencingToken: RECORDS,
      snapshotBytes: data.length,
      members: MEMBERS,
    });
    expect(Buffer.from(snapshot).equals(data)).toBe(true);
    for (const pieceBytes of [1, 7, 4096, 1024 * 1024]) {
      if (pieceBytes === 1) {
        // Byte by byte through the head and a little of the table: the cut fields are carried.
        const scan = new BackupScan(file.length);
        for (let at = 0; at < 2000; at++) scan.update(file.subarray(at, at + 1));
        scan.update(file.subarray(2000));
        expect(scan.finish()).toEqual(header);
      } else {
        expect(scanInPieces(file, pieceBytes)).toEqual(header);
      }
    }
  });

  it("dumps the state as of the export, not the writes that follow it", async () => {
    const data = encodeStateSnapshot(500, 4, table(10), MEMBERS);
    const storage = await storageWith(data, 500, 4);
    const state = await storage.exportState();
    await storage.write([
      {
        snapshot: {
          metadata: { index: 900, term: 5, confState: confStateOf(MEMBERS) },
          data: encodeStateSnapshot(900, 5, table(3), MEMBERS),
        },
        mustSync: true,
      },
    ]);
    const backup = await backupOf(state, { clusterId: "c", savedBy: "n1", savedAt: "now" });
    const writes: Uint8Array[] = [];
    await backup.writeTo(async (bytes) => void writes.push(Buffer.from(bytes)));
    await backup.close();
    const { header, snapshot } = readBackup(Buffer.concat(writes));
    expect(header).toMatchObject({ index: 500, term: 4, records: 10 });
    expect(Buffer.from(snapshot).equals(data)).toBe(true);
  });

  it("refuses a file damaged anywhere, checked in pieces, with the reason", async () => {
    const storage = await storageWith(encodeStateSnapshot(500, 4, table(200), MEMBERS), 500, 4);
    const { file } = await saved(storage);
    for (const at of [3, 40, Math.floor(file.length / 2), file.length - 20, file.length - 1]) {
      const damaged = Buffer.from(file);
      damaged[at] ^= 0x20;
      let error: unknown = null;
      try {
        scanInPieces(damaged, 999);
      } catch (caught) {
        error = caught;
      }
      expect(error, `byte ${at}`).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe("CORRUPT");
      expect(() => readBackup(damaged)).toThrow((error as Error).message);
    }
    expect(() => scanInPieces(file.subarray(0, file.length - 1000), 999)).toThrow(StorageError);
  });
});
