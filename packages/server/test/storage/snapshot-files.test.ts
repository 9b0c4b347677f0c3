import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SnapshotFiles } from "../../src/storage/snapshot-files.js";
import { SnapshotEncoder } from "../../src/storage/snapshot-format.js";
import { tempDir } from "./helpers.js";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe("SnapshotFiles", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let files: SnapshotFiles;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("snapshot-files"));
    files = new SnapshotFiles(dir, true);
    await files.prepare();
  });
  afterEach(async () => {
    await cleanup();
  });

  it("writes what is appended piece by piece under its name, then checks and reads it back", async () => {
    const encoder = new SnapshotEncoder(7, 2);
    const bytes = await files.writeStreamed("a.snap", async (append) => {
      for (let i = 0; i < 50_000; i++) {
        encoder.add(text(`lkey-${i}`), text(`value-${i}`));
        if (i % 5000 === 0) await append(encoder.takePieces());
      }
      await append(encoder.finishPieces());
    });
    expect(bytes).toBe(encoder.byteLength);
    expect(await readdir(files.folder)).toEqual(["a.snap"]);
    const checked = await files.check("a.snap", { index: 7, term: 2 });
    if (!("bytes" in checked)) throw new Error(`unexpected problem: ${checked.problem}`);
    expect(checked.bytes.byteLength).toBe(bytes);
    expect(checked.bytes.subarray(0, 8).toString("latin1")).toBe("DLSNAP01");
    expect(await files.check("a.snap", { index: 8, term: 2 })).toEqual({
      problem: expect.stringMatching(/metadata says/) as unknown,
    });
  });

  it("leaves nothing behind when the producer fails, and reports a torn file", async () => {
    await expect(
      files.writeStreamed("b.snap", async (append) => {
        await append([text("half a snapshot")]);
        throw new Error("dump failed");
      }),
    ).rejects.toThrow("dump failed");
    expect(await readdir(files.folder)).toEqual([]);
    const whole = new SnapshotEncoder(3, 1).finish();
    await writeFile(join(files.folder, "c.snap"), whole.subarray(0, whole.length - 3));
    expect(await files.check("c.snap", { index: 3, term: 1 })).toEqual({
      problem: expect.stringMatching(/too short|checksum|truncated/) as unknown,
    });
    expect(() => files.bytesOf("c.snap", whole.length).subarray(0, whole.length)).toThrow(
      /cannot be read/,
    );
  });
});
