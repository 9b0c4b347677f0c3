// The records of a snapshot read a window at a time are the records of the whole, whatever the
// window size and however records straddle windows (or are larger than one).
import { describe, expect, it } from "vitest";
import { META_MEMBERS, lockKey } from "../../src/storage/keys.js";
import { SnapshotEncoder, snapshotRecords } from "../../src/storage/snapshot-format.js";
import {
  SnapshotRecordReader,
  snapshotRecordCountOf,
} from "../../src/storage/snapshot-record-reader.js";
import { snapshotLockValueChunks } from "../../src/storage/snapshot-state.js";
import { decodeMembers, encodeMembers } from "../../src/storage/members-record.js";
import type { SnapshotBytes } from "@dlock/raft";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SnapshotFileBytes } from "../../src/storage/snapshot-file-bytes.js";
import { prng, tempDir } from "./helpers.js";

/** Bytes read only through subarray(), counted: what a staged file offers. */
function fileLike(data: Uint8Array): SnapshotBytes & { reads: number; maxRead: number } {
  const bytes = {
    byteLength: data.length,
    reads: 0,
    maxRead: 0,
    subarray(begin: number, end: number) {
      bytes.reads++;
      bytes.maxRead = Math.max(bytes.maxRead, end - begin);
      return Buffer.from(data.subarray(begin, end)); // a copy, as a file read is
    },
  };
  return bytes;
}

const MEMBERS = { voters: ["n1"], learners: [], peerAddresses: {} };

describe("SnapshotRecordReader", () => {
  it("walks the records snapshotRecords() walks, for any window and step", () => {
    const seed = Number(process.env.READER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[snapshot record reader] seed ${seed} (replay with READER_SEED=${seed})`);
    const random = prng(seed);
    for (let round = 0; round < 200; round++) {
      const encoder = new SnapshotEncoder(7, 2);
      const count = Math.floor(random() * 60);
      for (let i = 0; i < count; i++) {
        const size = random() < 0.1 ? Math.floor(random() * 500) : Math.floor(random() * 12);
        encoder.add(lockKey(`k${String(i).padStart(4, "0")}`), new Uint8Array(size).fill(i));
      }
      encoder.add(META_MEMBERS, encodeMembers(MEMBERS));
      const data = encoder.finish();
      const windowBytes = 1 + Math.floor(random() * 64);
      const step = 1 + Math.floor(random() * 8);
      const source = fileLike(data);
      const reader = new SnapshotRecordReader(source, windowBytes);
      const seen: Array<[number[], number[]]> = [];
      while (
        reader.walk(step, (buf, span) =>
          seen.push([
            [...buf.subarray(span.keyAt, span.keyEnd)],
            [...buf.subarray(span.valueAt, span.valueEnd)],
          ]),
        )
      );
      const label = `seed ${seed} round ${round} window ${windowBytes} step ${step}`;
      const expected = [...snapshotRecords(data)].map(([k, v]) => [[...k], [...v]]);
      expect(seen, label).toEqual(expected);
      expect(snapshotRecordCountOf(source), label).toBe(count + 1);
    }
  });

  it("reads a window at a time: never the whole snapshot in one read", async () => {
    const encoder = new SnapshotEncoder(7, 2);
    for (let i = 0; i < 5000; i++) encoder.add(lockKey(`key-${i}`), new Uint8Array(100).fill(i));
    encoder.add(META_MEMBERS, encodeMembers(MEMBERS));
    const data = encoder.finish();
    const source = fileLike(data);
    let members = null;
    let values = 0;
    for await (const chunk of snapshotLockValueChunks(source, 512, (m) => (members = m)))
      values += chunk.length;
    expect(values).toBe(5000);
    expect(members).toEqual(decodeMembers(encodeMembers(MEMBERS)));
    // ~600 KB in windows of 1 MiB would be one read; the reader reads at most a window.
    expect(source.maxRead).toBeLessThanOrEqual(1024 * 1024);
    const small = fileLike(data);
    const reader = new SnapshotRecordReader(small, 4096);
    let records = 0;
    while (reader.walk(1000, () => records++));
    expect(records).toBe(5001);
    expect(small.maxRead).toBeLessThanOrEqual(4096);
    expect(small.reads).toBeGreaterThan(data.length / 4096);
  });

  it("with reuseWindow, reads a file into one buffer (a larger record into its own)", async () => {
    const { dir, cleanup } = await tempDir("reader");
    try {
      const encoder = new SnapshotEncoder(7, 2);
      for (let i = 0; i < 3000; i++) {
        // One record larger than the window, which must be read whole into a buffer of its own.
        const size = i === 1500 ? 10_000 : 1 + (i % 90);
        encoder.add(lockKey(`key-${String(i).padStart(5, "0")}`), new Uint8Array(size).fill(i));
      }
      encoder.add(META_MEMBERS, encodeMembers(MEMBERS));
      const data = encoder.finish();
      const path = join(dir, "snap");
      await writeFile(path, data);
      const reader = new SnapshotRecordReader(new SnapshotFileBytes(path, data.length), 4096, {
        reuseWindow: true,
      });
      const seen: Array<[number[], number[]]> = [];
      const windows = new Set<ArrayBufferLike>();
      while (
        reader.walk(97, (buf, span) => {
          windows.add(buf.buffer);
          // Copied in the visit: the window's bytes are overwritten by the next read.
          seen.push([
            [...buf.subarray(span.keyAt, span.keyEnd)],
            [...buf.subarray(span.valueAt, span.valueEnd)],
          ]);
        })
      );
      expect(seen).toEqual([...snapshotRecords(data)].map(([k, v]) => [[...k], [...v]]));
      // ~290 KB in 4 KiB windows: one buffer for them all, one for the large record.
      expect(windows.size).toBe(2);
    } finally {
      await cleanup();
    }
  });

  it("refuses bytes that are not a snapshot, or a record that runs past the records", () => {
    expect(() => new SnapshotRecordReader(Buffer.from("not a snapshot at all, no"))).toThrow(
      /not a dlock snapshot/,
    );
    const encoder = new SnapshotEncoder(7, 2);
    encoder.add(lockKey("a"), new Uint8Array(10));
    const data = Buffer.from(encoder.finish());
    data.writeUInt32BE(1000, 24 + 4 + lockKey("a").length); // the value claims 1000 bytes
    const reader = new SnapshotRecordReader(data, 8);
    expect(() => reader.walk(1, () => undefined)).toThrow(/runs past the records/);
  });
});
