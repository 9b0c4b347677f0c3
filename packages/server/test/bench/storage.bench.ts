// Synced LevelDB write costs and entry encodings, the figures that decide the storage design.
// Run: npx vitest bench --run packages/server/test/bench/storage.bench.ts
import { afterAll, beforeAll, bench, describe } from "vitest";
import { Level } from "level";
import { Packr } from "msgpackr";
import type { Entry } from "@dlock/raft";
import { decodeEntry, encodeEntry } from "../../src/storage/codec.js";
import { entryKey } from "../../src/storage/keys.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { tempDir } from "../storage/helpers.js";

const BATCH = 1000;
// A lock command is ~60 bytes of msgpack: key, value, ttl, wait, delay, request id.
const PAYLOAD = new Uint8Array(60).fill(7);
const entriesFrom = (first: number, term: number): Entry[] =>
  Array.from({ length: BATCH }, (_, i) => ({
    index: first + i,
    term,
    kind: "normal",
    data: PAYLOAD,
  }));

let cleanups: Array<() => Promise<void>> = [];
let db: Level<Buffer, Buffer>;
let storage: LevelStorage;
let nextKey = 1;
let nextIndex = 1;

beforeAll(async () => {
  const raw = await tempDir("bench-raw");
  const st = await tempDir("bench-storage");
  cleanups = [raw.cleanup, st.cleanup];
  db = new Level<Buffer, Buffer>(raw.dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open();
  storage = await LevelStorage.open({
    dataDir: st.dir,
    clusterId: "bench",
    nodeId: "n1",
    initialMembers: { voters: ["n1"], learners: [], peerAddresses: {} },
  });
});

afterAll(async () => {
  await db.close();
  await storage.close();
  for (const c of cleanups) await c();
});

describe("synced LevelDB writes", () => {
  bench(
    "db.put, 1 entry, sync",
    async () => {
      await db.put(entryKey(nextKey++), Buffer.from(PAYLOAD), { sync: true });
    },
    { time: 1500 },
  );

  bench(
    `chained batch, ${BATCH} entries, sync`,
    async () => {
      const batch = db.batch();
      for (let i = 0; i < BATCH; i++) batch.put(entryKey(nextKey++), Buffer.from(PAYLOAD));
      await batch.write({ sync: true });
    },
    { time: 1500 },
  );

  bench(
    `array batch, ${BATCH} entries, sync`,
    async () => {
      const ops = [];
      for (let i = 0; i < BATCH; i++) {
        ops.push({ type: "put" as const, key: entryKey(nextKey++), value: Buffer.from(PAYLOAD) });
      }
      await db.batch(ops, { sync: true });
    },
    { time: 1500 },
  );

  bench(
    `LevelStorage.write, ${BATCH} entries + hard state, sync`,
    async () => {
      const entries = entriesFrom(nextIndex, 1);
      nextIndex += BATCH;
      await storage.write([
        { entries, hardState: { term: 1, vote: "n1", commit: nextIndex - 1 }, mustSync: true },
      ]);
    },
    { time: 1500 },
  );
});

describe(`entry encoding, ${BATCH} entries`, () => {
  const entries = entriesFrom(1, 3);
  const packr = new Packr({ useRecords: false });
  const hand = entries.map(encodeEntry);
  const packed = entries.map((e) => packr.pack({ t: e.term, k: e.kind, d: e.data }));

  bench("hand-rolled encode", () => {
    for (const e of entries) encodeEntry(e);
  });
  bench("msgpackr encode", () => {
    for (const e of entries) packr.pack({ t: e.term, k: e.kind, d: e.data });
  });
  bench("hand-rolled decode", () => {
    for (let i = 0; i < hand.length; i++) decodeEntry(i + 1, hand[i]);
  });
  bench("msgpackr decode", () => {
    for (const p of packed) packr.unpack(p);
  });
});
