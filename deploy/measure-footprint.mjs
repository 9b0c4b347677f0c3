// Memory and disk per lock, for sizing (docs/production.md, "Sizing"): starts one `dlock server`
// on loopback (fsync on) with a fresh data folder, takes LOCKS locks with a long TTL and keys and
// values of the given sizes, and prints the growth of the server's RSS and data folder, per lock.
// Linux only (reads /proc). After a build (npx -y pnpm@12.4.2 run build):
//   node deploy/measure-footprint.mjs [--locks 100000] [--key-bytes 30] [--value-bytes 25]
//     [--port 17901]   (uses PORT, PORT+1 and PORT+2 on 127.0.0.1)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const CONCURRENCY = 64;
const SETTLE_MS = 3_000;
const START_DEADLINE_MS = 60_000;

const { values } = parseArgs({
  options: {
    locks: { type: "string", default: "100000" },
    "key-bytes": { type: "string", default: "30" },
    "value-bytes": { type: "string", default: "25" },
    port: { type: "string", default: "17901" },
  },
});
const locks = Number(values.locks);
const keyBytes = Number(values["key-bytes"]);
const valueBytes = Number(values["value-bytes"]);
const port = Number(values.port);
for (const [name, value] of Object.entries({ locks, keyBytes, valueBytes, port })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`measure-footprint: ${name} must be a positive integer (got ${value})`);
    process.exit(2);
  }
}
if (keyBytes < 12) {
  console.error("measure-footprint: --key-bytes must be at least 12 (keys carry a number)");
  process.exit(2);
}

const { Locker } = await import("../packages/client/dist/index.js");
const data = mkdtempSync(join(tmpdir(), "dlock-footprint."));
const server = spawn(
  process.execPath,
  [
    join(REPO, "packages", "cli", "dist", "bin.js"),
    "server",
    ...["--id", "n1", "--data", data, "--cluster", `n1=127.0.0.1:${port + 1}`],
    ...["--client", `127.0.0.1:${port}`, "--http", `127.0.0.1:${port + 2}`],
    ...["--client-rate", "100000", "--log-level", "warn"],
  ],
  { stdio: ["ignore", "inherit", "inherit"] },
);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rssBytes = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))[1]) * 1024;
const diskBytes = () =>
  Number(execFileSync("du", ["-sb", data], { encoding: "utf8" }).split("\t")[0]);
const mib = (bytes) => Number((bytes / 2 ** 20).toFixed(1));
// A key of exactly keyBytes: a fixed prefix padded before the lock's number.
const keyOf = (i) => `m/${String(i).padStart(keyBytes - 2, "0")}`;
const value = "v".repeat(valueBytes);

const locker = new Locker({ endpoints: [`127.0.0.1:${port}`], unavailableTimeoutMs: 60_000 });
try {
  const startedMs = performance.now();
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    const status = await locker.status().catch(() => null);
    if (status?.leader) break;
    if (performance.now() - startedMs > START_DEADLINE_MS) throw new Error("no leader in 60 s");
    await sleep(200);
  }
  await sleep(SETTLE_MS);
  const before = { rss: rssBytes(), disk: diskBytes() };
  const takingMs = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < locks) await locker.acquire(keyOf(next++), value, { ttl: "24h" });
    }),
  );
  const seconds = (performance.now() - takingMs) / 1000;
  await sleep(SETTLE_MS);
  const after = { rss: rssBytes(), disk: diskBytes() };
  console.log(
    JSON.stringify({
      locks,
      keyBytes,
      valueBytes,
      acquireSeconds: Number(seconds.toFixed(1)),
      rssMiB: [mib(before.rss), mib(after.rss)],
      rssBytesPerLock: Math.round((after.rss - before.rss) / locks),
      dataMiB: [mib(before.disk), mib(after.disk)],
      dataBytesPerLock: Math.round((after.disk - before.disk) / locks),
    }),
  );
} finally {
  await locker.close();
  server.kill("SIGTERM");
  await new Promise((resolve) => server.once("exit", resolve));
  rmSync(data, { recursive: true, force: true });
}
