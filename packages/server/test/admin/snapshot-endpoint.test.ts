// GET /snapshot over HTTP: the bearer token reaches the source, refusals come back as JSON with
// their status (401 asks for a bearer token), and a backup arrives whole and verifies.
import { afterEach, describe, expect, it } from "vitest";
import { AdminServer } from "../../src/admin/admin-server.js";
import { ServerMetrics } from "../../src/admin/server-metrics.js";
import type { SnapshotAnswer, SnapshotSource } from "../../src/admin/snapshot-endpoint.js";
import type { NodeStatusSnapshot } from "../../src/admin/status-provider.js";
import { backupOf, readBackup } from "../../src/storage/backup-file.js";
import { encodeStateSnapshot } from "../../src/storage/snapshot-state.js";
import { heldKeyRecord, stateExportOf } from "../storage/helpers.js";

const status: NodeStatusSnapshot = {
  nodeId: "n1",
  role: "leader",
  term: 2,
  leader: "n1",
  commitIndex: 5,
  appliedIndex: 5,
  members: [],
};
const provider = { status: () => status, checkStorageWritable: () => Promise.resolve() };
const members = { voters: ["n1"], learners: [], peerAddresses: { n1: "127.0.0.1:7101" } };

const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function start(snapshot?: SnapshotSource): Promise<string> {
  const server = new AdminServer({
    provider,
    metrics: new ServerMetrics({ statusSource: () => status }),
    port: 0,
    ...(snapshot === undefined ? {} : { snapshot }),
  });
  servers.push(server);
  await server.start();
  return `http://127.0.0.1:${server.address().port}/snapshot`;
}

describe("AdminServer /snapshot", () => {
  it("is not found on a server without a snapshot source", async () => {
    const response = await fetch(await start());
    expect(response.status).toBe(404);
  });

  it("passes the bearer token on and answers a refusal as JSON", async () => {
    const seen: Array<string | null> = [];
    const url = await start({
      save: async ({ authToken }): Promise<SnapshotAnswer> => {
        seen.push(authToken);
        return { status: 401, error: "give an admin token" };
      },
    });
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    expect(await anonymous.json()).toEqual({ error: "give an admin token", leader: null });
    await fetch(url, { headers: { authorization: "Bearer dlk_secret" } });
    expect(seen).toEqual([null, "dlk_secret"]);
  });

  it("sends a backup that verifies, releasing the exported state after", async () => {
    const records: Array<[string, Uint8Array]> = [];
    // Bigger than the socket takes at once, so the body goes out in several paced writes.
    for (let i = 1; i <= 3000; i++)
      records.push([`k${i}`, heldKeyRecord(`k${i}`, `holder-${"h".repeat(600)}`, i)]);
    const data = encodeStateSnapshot(9, 2, records, members);
    expect(data.length).toBeGreaterThan(1024 * 1024);
    let closes = 0;
    const save = async (): Promise<SnapshotAnswer> => {
      const state = stateExportOf(data);
      const backup = await backupOf(
        {
          ...state,
          close: async () => {
            closes++;
            await state.close();
          },
        },
        { clusterId: "c", savedBy: "n1", savedAt: "2026-01-01T00:00:00.000Z" },
      );
      return { status: 200, backup };
    };
    const url = await start({ save });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(Number(response.headers.get("content-length"))).toBe(body.length);
    const { header, snapshot } = readBackup(body);
    expect(header).toMatchObject({ clusterId: "c", index: 9, term: 2, records: 3000 });
    expect(Buffer.from(snapshot).equals(data)).toBe(true);
    expect(closes).toBe(1);
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(body.length);
    expect(closes).toBe(2);
  });
});
