// Upgrades of the data folder: a node starts on a folder written before the format-version key
// existed (a committed fixture, scripts/make-data-format-fixture.mjs), serves its locks with
// their tokens, and leaves the key written; a folder of a newer format is refused, naming the
// versions this binary reads.
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { Locker } from "@dlock/client";
import { createLogger } from "../../src/config/logger.js";
import { DlockServer } from "../../src/node/dlock-server.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { EMPTY_MEMBERS } from "../../src/storage/members-record.js";
import { StorageError } from "../../src/storage/errors.js";
import { decodeUint64, encodeUint64 } from "../../src/storage/codec.js";
import { DATA_FORMAT_VERSION } from "../../src/storage/data-format.js";
import { META_FORMAT_VERSION } from "../../src/storage/keys.js";
import {
  FIXTURE_DATA_DIR,
  FIXTURE_EXPECTED_FILE,
  FIXTURE_LOCKS,
  FIXTURE_SERVER_OPTIONS,
} from "../fixtures/data-format-fixture.mjs";

async function storedVersion(dataDir: string): Promise<number | null> {
  const db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  try {
    const bytes = await db.get(META_FORMAT_VERSION);
    return bytes === undefined ? null : decodeUint64(bytes);
  } finally {
    await db.close();
  }
}

describe("data folder format", () => {
  const folders: string[] = [];
  afterEach(async () => {
    for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  });

  async function fixtureCopy(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), "dlock-format-"));
    folders.push(root);
    const dataDir = join(root, "folder");
    await cp(FIXTURE_DATA_DIR, dataDir, { recursive: true });
    return dataDir;
  }

  it("a node starts on a folder of the previous layout, serves its locks and writes the version key", async () => {
    const dataDir = await fixtureCopy();
    expect(await storedVersion(dataDir)).toBeNull();
    const expected = JSON.parse(await readFile(FIXTURE_EXPECTED_FILE, "utf8")) as {
      locks: Array<{ key: string; value: string; token: number }>;
    };
    // The tokens are what the writer was granted; the locks are the ones it declares.
    expect(expected.locks.map(({ key, value }) => ({ key, value }))).toEqual(FIXTURE_LOCKS);
    const logs: string[] = [];
    const server = await DlockServer.start(
      {
        ...FIXTURE_SERVER_OPTIONS,
        peers: { ...FIXTURE_SERVER_OPTIONS.peers },
        dataDir,
        fsync: false,
      },
      {
        logger: createLogger({
          level: "info",
          nodeId: FIXTURE_SERVER_OPTIONS.id,
          destination: { write: (line: string) => void logs.push(line) },
        }),
      },
    );
    const locker = new Locker({
      endpoints: [server.addresses().client],
      clusterId: FIXTURE_SERVER_OPTIONS.clusterId,
    });
    try {
      for (const lock of expected.locks) {
        const got = await locker.get(lock.key);
        expect(got).toMatchObject({ held: true, value: lock.value, fencingToken: lock.token });
      }
      const fresh = await locker.acquire("fixture/new", "v", { ttl: "1m" });
      expect(fresh.fencingToken).toBeGreaterThan(Math.max(...expected.locks.map((l) => l.token)));
    } finally {
      await locker.close();
      await server.stop();
    }
    expect(await storedVersion(dataDir)).toBe(DATA_FORMAT_VERSION);
    expect(logs.filter((line) => line.includes("data folder migrated"))).toHaveLength(1);
  }, 60_000);

  it("refuses a folder of a newer format with FORMAT_UNSUPPORTED naming the supported versions", async () => {
    const dataDir = await fixtureCopy();
    const db = new Level<Buffer, Buffer>(dataDir, {
      keyEncoding: "buffer",
      valueEncoding: "buffer",
    });
    await db.put(META_FORMAT_VERSION, encodeUint64(DATA_FORMAT_VERSION + 1));
    await db.close();
    const opened = LevelStorage.open({
      dataDir,
      clusterId: FIXTURE_SERVER_OPTIONS.clusterId,
      nodeId: FIXTURE_SERVER_OPTIONS.id,
      initialMembers: EMPTY_MEMBERS,
    });
    await expect(opened).rejects.toBeInstanceOf(StorageError);
    await expect(opened).rejects.toMatchObject({
      code: "FORMAT_UNSUPPORTED",
      message: expect.stringMatching(
        new RegExp(
          `format version ${DATA_FORMAT_VERSION + 1}; this dlock reads versions 2 to ${DATA_FORMAT_VERSION}`,
        ),
      ),
    });
  });

  it("writes the version key into a new folder", async () => {
    const root = await mkdtemp(join(tmpdir(), "dlock-format-"));
    folders.push(root);
    const storage = await LevelStorage.open({
      dataDir: root,
      clusterId: "c",
      nodeId: "n1",
      initialMembers: EMPTY_MEMBERS,
    });
    expect(storage.migrations).toEqual([]);
    await storage.close();
    expect(await storedVersion(root)).toBe(DATA_FORMAT_VERSION);
  });
});
