// Checks the built runtime image on its own, before any cluster runs: run by scripts/test-docker.sh
// as `docker run -i --rm -v <new volume>:/data --entrypoint node <image> --input-type=module -`.
// It proves that the server process runs as a non-root user, can write its data volume, and that
// the native addons of the production dependencies (LevelDB through `level`, msgpackr's extractor)
// load in this image, resolved exactly as @dlock/server and @dlock/protocol resolve them.
import { accessSync, constants, existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const APP = "/app";
const DATA = process.env.DLOCK_DATA ?? "/data";
let failures = 0;

function report(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} image: ${what}`);
  if (!ok) failures += 1;
}

// The real directory of package `name` as Node finds it from `fromDir` (node_modules lookup up
// the tree, symlinks resolved: pnpm links each package's dependencies beside it). Looked up on
// disk rather than through require.resolve, because workspace packages export no package.json.
function packageDir(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dir === dirname(dir)) throw new Error(`${name} is not installed where ${fromDir} sees it`);
  }
}

// A require() that resolves as code in that package directory does.
function requireIn(dir) {
  return createRequire(join(dir, "package.json"));
}

async function main() {
  report(process.getuid() !== 0, `runs as a non-root user (uid ${process.getuid()})`);
  accessSync(`${APP}/dist/bin.js`, constants.R_OK);
  report(true, "the CLI entry point /app/dist/bin.js is there");
  accessSync(DATA, constants.W_OK);
  report(true, `${DATA} is writable`);

  const serverDir = packageDir(APP, "@dlock/server");
  const { Level } = await import(pathToFileURL(requireIn(serverDir).resolve("level")).href);
  const location = `${DATA}/image-check-db`;
  let db = new Level(location);
  await db.put("key", "value", { sync: true });
  await db.close();
  db = new Level(location);
  const value = await db.get("key");
  await db.close();
  report(
    value === "value",
    "LevelDB (classic-level addon) writes, syncs and reads back after reopen",
  );

  const msgpackrDir = packageDir(packageDir(serverDir, "@dlock/protocol"), "msgpackr");
  let extractor = false;
  try {
    requireIn(msgpackrDir)("msgpackr-extract");
    extractor = true;
  } catch (error) {
    console.log(`  msgpackr-extract: ${error instanceof Error ? error.message : String(error)}`);
  }
  report(extractor, "msgpackr's native extractor loads");
}

try {
  await main();
} catch (error) {
  report(false, error instanceof Error ? (error.stack ?? error.message) : String(error));
}
process.exit(failures === 0 ? 0 : 1);
