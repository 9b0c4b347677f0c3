import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "@dlock/raft";
import type { Level } from "level";
import { encodeKeyStateRecord } from "../../src/lock/table-codec.js";
import { LOCK_RANGE } from "../../src/storage/keys.js";
import { readSnapshotHeader, snapshotRecords } from "../../src/storage/snapshot-format.js";
import { snapshotMembers } from "../../src/storage/snapshot-state.js";
import type { StateExport } from "../../src/storage/state-export.js";
import type { LevelStorage } from "../../src/storage/level-storage.js";

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(
  prefix: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `dlock-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The LevelDB under a LevelStorage, to plant or list raw records. */
export function rawDb(s: LevelStorage): Level<Buffer, Buffer> {
  return (s as unknown as { db: Level<Buffer, Buffer> }).db;
}

/** Deterministic PRNG (mulberry32), for property tests that print their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normal(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, kind: "normal", data: new TextEncoder().encode(text) };
}

export function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(normal(i, term));
  return out;
}

/**
 * The state held in snapshot bytes, exported as LevelStorage exports its own: dumped in slices
 * of `sliceBytes`, each lock record reported as it passes.
 */
export function stateExportOf(data: Uint8Array, sliceBytes = 64 * 1024): StateExport {
  const { index, term } = readSnapshotHeader(data);
  let closed = false;
  return {
    index,
    term,
    async dump(append, onLockRecord) {
      if (closed) throw new Error("dump after close");
      for (let at = 0; at < data.length; at += sliceBytes) {
        await append([data.subarray(at, at + sliceBytes)]);
      }
      for (const [key, value] of snapshotRecords(data)) {
        if (key[0] === LOCK_RANGE.gte[0]) onLockRecord?.(key, value);
      }
      const members = snapshotMembers(data);
      if (members === null) throw new Error("snapshot without a members record");
      return members;
    },
    close: async () => {
      closed = true;
    },
  };
}

/** The stored record of `key` held by `holder` with fencing token `token`, no waiters. */
export function heldKeyRecord(key: string, holder: string, token: number): Uint8Array {
  return encodeKeyStateRecord({
    key,
    holder,
    token,
    leaseRevision: token,
    ttlMs: 10_000,
    lockDelayMs: 0,
    delayRevision: 0,
    delayMs: 0,
    waiters: [],
  });
}
