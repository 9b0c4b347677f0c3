// Backup and restore on real processes: 10,000 held locks are saved through the leader's admin
// port (`dlock snapshot save`), every node of a NEW cluster is seeded from the file (`dlock
// snapshot restore`), and the new cluster serves every lock with its holder and token; a new
// grant's token is above every restored one. A damaged file is refused.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LockBusyError, Locker } from "@dlock/client";
import { LocalCluster, freePorts } from "@dlock/tools";
import type { LocalNodePorts } from "@dlock/tools";
import { BUILT_BIN, CLUSTER_ID, runDlock, startCluster } from "./support.js";

const LOCKS = 10_000;
const CONCURRENCY = 64;
/** Long enough that no lease ends during the test, however slow the machine. */
const TTL = "50m";

interface Saved {
  value: string;
  token: number;
}

/** Runs `work` for 0..count-1 with `CONCURRENCY` at a time. */
async function forEachIndex(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

describe("backup and restore (real processes)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("restores 10,000 held locks, holders and tokens into a new cluster; new tokens are higher", async () => {
    const work = await mkdtemp(join(tmpdir(), "dlock-backup-"));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const file = join(work, "locks.dlock");

    // ---- the saved cluster -------------------------------------------------------------------
    const { cluster: old, cleanup: stopOld } = await startCluster("backup-old", { fsync: false });
    cleanups.push(stopOld);
    await old.waitForLeader();
    await old.waitForReady();
    const saved = new Map<string, Saved>();
    const oldLocker = new Locker({ endpoints: old.endpoints(), clusterId: CLUSTER_ID });
    try {
      await forEachIndex(LOCKS, async (i) => {
        const key = `backup/${i}`;
        const value = `holder-${i}`;
        const grant = await oldLocker.acquire(key, value, { ttl: TTL });
        saved.set(key, { value, token: grant.fencingToken });
      });
    } finally {
      await oldLocker.close();
    }
    const maxSaved = Math.max(...[...saved.values()].map((s) => s.token));
    const admin = old.nodes.map((n) => n.httpAddress).join(",");
    const save = await runDlock(["snapshot", "save", file, "--admin", admin, "--json"]);
    expect(save.stderr).toBe("");
    expect(save.code).toBe(0);
    const header = JSON.parse(save.stdout) as { records: number; maxFencingToken: number };
    expect(header.records).toBe(LOCKS);
    expect(header.maxFencingToken).toBe(maxSaved);
    cleanups.pop();
    await stopOld();

    // ---- a damaged copy is refused ----------------------------------------------------------
    const bytes = await readFile(file);
    const damaged = Buffer.from(bytes);
    damaged[Math.floor(damaged.length / 2)] ^= 0x01;
    await writeFile(join(work, "damaged.dlock"), damaged);
    const inspectDamaged = await runDlock(["snapshot", "inspect", join(work, "damaged.dlock")]);
    expect(inspectDamaged.code).toBe(1);
    expect(inspectDamaged.stderr).toMatch(/checksum mismatch/);

    // ---- the new cluster, every founder restored from the file ------------------------------
    const root = join(work, "new");
    const free = await freePorts(9);
    const ports: LocalNodePorts[] = [0, 1, 2].map((i) => ({
      client: free[3 * i],
      peer: free[3 * i + 1],
      http: free[3 * i + 2],
    }));
    const ids = ["n1", "n2", "n3"];
    const clusterList = ids.map((id, i) => `${id}=127.0.0.1:${ports[i].peer}`).join(",");
    for (const id of ids) {
      const restore = await runDlock([
        ...["snapshot", "restore", file, "--data", join(root, id), "--id", id],
        ...["--cluster", clusterList, "--cluster-id", CLUSTER_ID],
      ]);
      expect(restore.stderr).toBe("");
      expect(restore.code).toBe(0);
      expect(restore.stdout).toMatch(/10000 lock records/);
    }
    const again = await runDlock([
      ...["snapshot", "restore", file, "--data", join(root, "n1"), "--id", "n1"],
      ...["--cluster", clusterList, "--cluster-id", CLUSTER_ID],
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/DATA_EXISTS/);

    const restored = await LocalCluster.start({
      root,
      bin: BUILT_BIN,
      clusterId: CLUSTER_ID,
      ports,
      fsync: false,
    });
    cleanups.push(() => restored.stop(10_000));
    await restored.waitForLeader();
    await restored.waitForReady();
    const locker = new Locker({ endpoints: restored.endpoints(), clusterId: CLUSTER_ID });
    try {
      const wrong: string[] = [];
      await forEachIndex(LOCKS, async (i) => {
        const key = `backup/${i}`;
        const want = saved.get(key) as Saved;
        const got = await locker.get(key);
        if (!got.held || got.value !== want.value || got.fencingToken !== want.token) {
          wrong.push(`${key}: ${JSON.stringify(got)}, saved ${JSON.stringify(want)}`);
        }
      });
      expect(wrong.slice(0, 5)).toEqual([]);
      // A restored lock is still held: another holder is refused.
      await expect(
        locker.acquire("backup/0", "someone-else", { ttl: TTL, retryLimit: 0 }),
      ).rejects.toBeInstanceOf(LockBusyError);
      const fresh = await locker.acquire("backup/new", "new-holder", { ttl: TTL });
      expect(fresh.fencingToken).toBeGreaterThan(maxSaved);
    } finally {
      await locker.close();
    }
  }, 600_000);
});
