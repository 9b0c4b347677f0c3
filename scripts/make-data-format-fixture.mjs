// Writes packages/server/test/fixtures/data-format-2/: the data folder of a one-node cluster as
// this checkout's server writes it (folder/: LevelDB + snapshots/), holding three locks, and expected.json
// with their holders and tokens. The upgrade test starts a node on a copy and checks it migrates.
// Run from the repository root after `pnpm build`: node scripts/make-data-format-fixture.mjs
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Locker } from "../packages/client/dist/index.js";
import { DlockServer } from "../packages/server/dist/index.js";

const folder = "packages/server/test/fixtures/data-format-2";
const dataDir = join(folder, "folder");
await rm(folder, { recursive: true, force: true });
await mkdir(folder, { recursive: true });
const server = await DlockServer.start({
  id: "n1",
  clusterId: "fixture",
  dataDir,
  peers: { n1: "127.0.0.1:7101" },
  peerListen: "127.0.0.1:0",
  clientListen: "127.0.0.1:0",
  advertisedClientAddress: "127.0.0.1:7001",
  httpListen: null,
  logLevel: "warn",
});
const locker = new Locker({ endpoints: [server.addresses().client], clusterId: "fixture" });
const locks = [];
for (const key of ["fixture/a", "fixture/b", "fixture/c"]) {
  const grant = await locker.acquire(key, `holder-of-${key}`, { ttl: "50m" });
  locks.push({ key, value: grant.value, token: grant.fencingToken });
}
await locker.close();
await server.stop();
await rm(join(dataDir, "LOG"), { force: true });
await rm(join(dataDir, "LOG.old"), { force: true });
await writeFile(join(folder, "expected.json"), `${JSON.stringify({ locks }, null, 2)}\n`);
console.log(`wrote ${folder}`);
