// Who may save a backup: an admin's token when the server has an auth file, only on the leader,
// and only after the state is caught up (ReadIndex, then a synced write), in that order.
import { describe, expect, it } from "vitest";
import { parseAuthFile } from "../../src/auth/auth-file.js";
import { generateAuthToken, hashAuthToken } from "../../src/auth/auth-token.js";
import { Authenticator } from "../../src/auth/authenticator.js";
import { SILENT_LOGGER } from "@dlock/protocol";
import { readBackup } from "../../src/storage/backup-file.js";
import { encodeStateSnapshot } from "../../src/storage/snapshot-state.js";
import { snapshotSource } from "../../src/node/snapshot-source.js";
import { heldKeyRecord, stateExportOf } from "../storage/helpers.js";
import type { SnapshotAnswer } from "../../src/admin/snapshot-endpoint.js";

const members = { voters: ["n1"], learners: [], peerAddresses: { n1: "127.0.0.1:7101" } };

function setup(options: { leader: boolean; auth: boolean }) {
  const adminToken = generateAuthToken();
  const readerToken = generateAuthToken();
  const authenticator = options.auth
    ? new Authenticator(
        parseAuthFile(
          `ops ${hashAuthToken(adminToken)} admin\nreader ${hashAuthToken(readerToken)} read:*\n`,
        ),
      )
    : null;
  const calls: string[] = [];
  const data = encodeStateSnapshot(
    42,
    3,
    [
      ["a", heldKeyRecord("a", "x", 17)],
      ["b", heldKeyRecord("b", "y", 40)],
    ],
    members,
  );
  const source = snapshotSource({
    clusterId: "c",
    nodeId: "n1",
    authenticator,
    host: {
      status: () => ({ role: options.leader ? "leader" : "follower", leader: "n2" }),
      readIndex: async () => void calls.push("readIndex"),
      checkStorageWritable: async () => void calls.push("sync"),
    },
    storage: {
      exportState: async () => {
        calls.push("export");
        return stateExportOf(data);
      },
    },
    logger: SILENT_LOGGER,
  });
  return { source, adminToken, readerToken, calls };
}

function statusOf(answer: SnapshotAnswer): number {
  return answer.status;
}

describe("snapshotSource", () => {
  it("refuses without a token, with an unknown one, and with a non-admin one", async () => {
    const { source, readerToken, calls } = setup({ leader: true, auth: true });
    expect(statusOf(await source.save({ authToken: null }))).toBe(401);
    expect(statusOf(await source.save({ authToken: generateAuthToken() }))).toBe(401);
    const reader = await source.save({ authToken: readerToken });
    expect(reader.status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("refuses on a follower, naming the leader", async () => {
    const { source, adminToken } = setup({ leader: false, auth: true });
    const answer = await source.save({ authToken: adminToken });
    expect(answer).toMatchObject({ status: 409, leader: "n2" });
  });

  it("serves an admin on the leader a verified backup, after catching up", async () => {
    const { source, adminToken, calls } = setup({ leader: true, auth: true });
    const answer = await source.save({ authToken: adminToken });
    if (answer.status !== 200) throw new Error(`refused: ${answer.error}`);
    expect(calls).toEqual(["readIndex", "sync", "export"]);
    const writes: Uint8Array[] = [];
    await answer.backup.writeTo(async (bytes) => void writes.push(bytes));
    await answer.backup.close();
    const { header } = readBackup(Buffer.concat(writes));
    expect(header).toMatchObject({ index: 42, term: 3, records: 2, maxFencingToken: 40 });
  });

  it("serves anyone when the server has no auth file (like /status)", async () => {
    const { source } = setup({ leader: true, auth: false });
    expect(statusOf(await source.save({ authToken: null }))).toBe(200);
  });
});
