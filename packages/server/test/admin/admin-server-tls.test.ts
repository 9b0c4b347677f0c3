import { get } from "node:https";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { AdminServer } from "../../src/admin/admin-server.js";
import { ServerMetrics } from "../../src/admin/server-metrics.js";
import type { NodeStatusSnapshot } from "../../src/admin/status-provider.js";
import { makeTlsFixtures } from "../transport/tls-fixtures.js";
import type { TlsFixtures } from "../transport/tls-fixtures.js";

let fixtures: TlsFixtures;
beforeAll(() => {
  fixtures = makeTlsFixtures();
});

const servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const status: NodeStatusSnapshot = {
  nodeId: "n1",
  role: "leader",
  term: 1,
  leader: "n1",
  commitIndex: 1,
  appliedIndex: 1,
  members: [],
};

/** GET over HTTPS trusting `ca`; resolves the status code and body, or rejects with the TLS error. */
function httpsGet(
  port: number,
  path: string,
  ca: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(
      { host: "127.0.0.1", port, path, ca, agent: false, checkServerIdentity: () => undefined },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("error", reject);
  });
}

describe("AdminServer over HTTPS", () => {
  it("serves /status with the node's certificate and takes a new one for new connections", async () => {
    const provider = { status: () => status, checkStorageWritable: () => Promise.resolve() };
    const server = new AdminServer({
      provider,
      metrics: new ServerMetrics({ statusSource: () => status }),
      port: 0,
      tls: { key: fixtures.nodes.n1.key, cert: fixtures.nodes.n1.cert, ca: fixtures.ca },
    });
    servers.push(server);
    await server.start();
    const { port } = server.address();
    const response = await httpsGet(port, "/status", fixtures.ca);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ nodeId: "n1" });
    await expect(httpsGet(port, "/status", fixtures.foreignCa)).rejects.toThrow();

    // Rotated to a certificate of another CA: clients trusting that CA now get through.
    server.setTls({ key: fixtures.foreignKey, cert: fixtures.foreignCert, ca: fixtures.foreignCa });
    expect((await httpsGet(port, "/status", fixtures.foreignCa)).status).toBe(200);
    await expect(httpsGet(port, "/status", fixtures.ca)).rejects.toThrow();
  });
});
