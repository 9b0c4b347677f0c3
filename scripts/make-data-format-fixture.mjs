// Writes packages/server/test/fixtures/data-format-2/: the data folder of a one-node cluster as
// this checkout's server writes it (folder/: LevelDB + snapshots/), holding three locks, and expected.json
// with their holders and tokens. The upgrade test starts a node on a copy and checks it migrates.
// Run from the repository root after `pnpm build`: node scripts/make-data-format-fixture.mjs
// What it writes (options, locks, paths) is declared in packages/server/test/fixtures/data-format-fixture.mjs.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Locker } from "../packages/client/dist/index.js";
import { DlockServer } from "../packages/server/dist/index.js";
import {
  FIXTURE_DATA_DIR,
  FIXTURE_DIR,
  FIXTURE_EXPECTED_FILE,
  FIXTURE_LOCK_TTL,
  FIXTURE_LOCKS,
  FIXTURE_SERVER_OPTIONS,
} from "../packages/server/test/fixtures/data-format-fixture.mjs";

await rm(FIXTURE_DIR, { recursive: true, force: true });
await mkdir(FIXTURE_DIR, { recursive: true });
const server = await DlockServer.start({
  ...FIXTURE_SERVER_OPTIONS,
  dataDir: FIXTURE_DATA_DIR,
  logLevel: "warn",
});
const locker = new Locker({
  endpoints: [server.addresses().client],
  clusterId: FIXTURE_SERVER_OPTIONS.clusterId,
});
const locks = [];
for (const { key, value } of FIXTURE_LOCKS) {
  const grant = await locker.acquire(key, value, { ttl: FIXTURE_LOCK_TTL });
  locks.push({ key, value: grant.value, token: grant.fencingToken });
}
await locker.close();
await server.stop();
await rm(join(FIXTURE_DATA_DIR, "LOG"), { force: true });
await rm(join(FIXTURE_DATA_DIR, "LOG.old"), { force: true });
await writeFile(FIXTURE_EXPECTED_FILE, `${JSON.stringify({ locks }, null, 2)}\n`);
console.log(`wrote ${FIXTURE_DIR}`);
