import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HandshakeFailedError, SILENT_LOGGER } from "@dlock/protocol";
import { dataFolderId, PeerDataIds } from "../../src/node/peer-data-ids.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { EMPTY_MEMBERS } from "../../src/storage/members-record.js";
import { peerDataIdKey } from "../../src/storage/keys.js";
import { tempDir } from "../storage/helpers.js";

describe("peer data folder ids: a voter that lost its disk is refused", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: LevelStorage | null = null;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("peer-data-ids"));
  });
  afterEach(async () => {
    await storage?.close();
    storage = null;
    await cleanup();
  });
  const open = async () => {
    await storage?.close();
    storage = await LevelStorage.open({
      dataDir: dir,
      clusterId: "c",
      nodeId: "n1",
      initialMembers: EMPTY_MEMBERS,
    });
    return storage;
  };
  const voters = new Set(["n1", "n2", "n3"]);
  const load = async (s: LevelStorage) =>
    PeerDataIds.load({
      storage: s,
      dataId: await dataFolderId(s),
      peerIds: ["n2", "n3"],
      isVoter: (id) => voters.has(id),
      logger: SILENT_LOGGER,
    });

  it("keeps its own id across opens", async () => {
    const first = await dataFolderId(await open());
    expect(first.length).toBeGreaterThan(0);
    expect(await dataFolderId(await open())).toBe(first);
  });

  it("learns a peer's id, remembers it across restarts and refuses a voter that shows another", async () => {
    const s = await open();
    const ids = await load(s);
    ids.admit("n2", "a");
    ids.admit("n2", "a");
    ids.admit("n2", null); // a peer from before data folder ids
    // The record is written in the background (the handshake does not wait for it).
    for (
      let i = 0;
      i < 1_000 && (await s.readLocalRecord(peerDataIdKey("n2"))) === undefined;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const again = await load(await open());
    let stored: unknown = null;
    try {
      again.admit("n2", "b");
    } catch (error) {
      stored = error;
    }
    expect(stored).toBeInstanceOf(HandshakeFailedError);
    expect(stored).toMatchObject({ code: "HANDSHAKE_FAILED", reason: "dataReplaced" });
    expect(String((stored as Error).message)).toContain("--join");
  });

  it("lets a learner or a non-member change its id (the way back after member remove)", async () => {
    const ids = await load(await open());
    ids.admit("n3", "a");
    voters.delete("n3");
    try {
      ids.admit("n3", "b");
      voters.add("n3");
      // Promoted again: its new id is the one it must keep.
      ids.admit("n3", "b");
      expect(() => ids.admit("n3", "a")).toThrow(HandshakeFailedError);
    } finally {
      voters.add("n3");
    }
  });
});
