import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  SnapshotEncoder,
  SnapshotScan,
  findSnapshotRecord,
  readSnapshotHeader,
  snapshotProblem,
  snapshotRecords,
  snapshotValuesFrom,
} from "../../src/storage/snapshot-format.js";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function sample(records: number, valueBytes = 10): Buffer {
  const encoder = new SnapshotEncoder(1234, 7);
  for (let i = 0; i < records; i++) {
    encoder.add(text(`l${String(i).padStart(6, "0")}`), text("v".repeat(valueBytes)));
  }
  return encoder.finish();
}

describe("snapshot format", () => {
  it("round-trips records, index and term, across piece boundaries and for large values", () => {
    const encoder = new SnapshotEncoder(99, 3);
    const big = new Uint8Array(300_000).fill(7);
    encoder.add(text("lsmall"), text("x"));
    encoder.add(text("lbig"), big);
    for (let i = 0; i < 20_000; i++) encoder.add(text(`lk${i}`), text(`value-${i}`));
    const data = encoder.finish();
    expect(snapshotProblem(data, { index: 99, term: 3 })).toBeNull();
    expect(readSnapshotHeader(data)).toEqual({ index: 99, term: 3, recordCount: 20_002 });
    const records = [...snapshotRecords(data)];
    expect(records).toHaveLength(20_002);
    expect(records[0][0].toString()).toBe("lsmall");
    expect(Buffer.from(records[1][1]).equals(Buffer.from(big))).toBe(true);
    expect(records[20_001].map((b) => b.toString())).toEqual(["lk19999", "value-19999"]);
  });

  it("finds one record by key without listing the others, or null", () => {
    const encoder = new SnapshotEncoder(9, 2);
    encoder.add(text("lm:members"), text("lock"));
    encoder.add(text("lz"), text("z"));
    encoder.add(text("m:member"), text("shorter key"));
    encoder.add(text("m:members"), text("the members"));
    const data = encoder.finish();
    expect(findSnapshotRecord(data, text("m:members"))?.toString()).toBe("the members");
    expect(findSnapshotRecord(data, text("lz"))?.toString()).toBe("z");
    expect(findSnapshotRecord(data, text("m:membersX"))).toBeNull();
    expect(findSnapshotRecord(new SnapshotEncoder(5, 1).finish(), text("lz"))).toBeNull();
  });

  it("walks the values under one key byte in steps, as snapshotRecords lists them", () => {
    const encoder = new SnapshotEncoder(9, 2);
    for (let i = 0; i < 50; i++) encoder.add(text(`l${String(i).padStart(3, "0")}`), text(`v${i}`));
    encoder.add(text("m:members"), text("not a lock"));
    encoder.add(text(""), text("empty key"));
    const data = encoder.finish();
    const expected = [...snapshotRecords(data)]
      .filter(([key]) => key[0] === "l".charCodeAt(0))
      .map(([, value]) => value.toString());
    expect(expected).toHaveLength(50);
    for (const step of [1, 7, 50, 1000]) {
      const values: string[] = [];
      let walks = 0;
      for (let at = 0; at !== -1; walks++) {
        const out: Uint8Array[] = [];
        at = snapshotValuesFrom(data, at, "l".charCodeAt(0), step, out);
        expect(out.length).toBeLessThanOrEqual(step);
        for (const value of out) values.push(Buffer.from(value).toString());
      }
      expect(values).toEqual(expected);
      expect(walks).toBe(Math.floor(50 / step) + 1);
    }
    expect(() => snapshotValuesFrom(Buffer.from("not a snapshot"), 0, 0, 1, [])).toThrow(
      /not a dlock snapshot/,
    );
  });

  it("an empty dump (no locks) is well formed", () => {
    const data = new SnapshotEncoder(5, 1).finish();
    expect(snapshotProblem(data)).toBeNull();
    expect([...snapshotRecords(data)]).toEqual([]);
  });

  it("detects any single flipped byte, a truncation and a dump of another index", () => {
    const data = sample(50);
    for (let at = 0; at < data.length; at++) {
      const damaged = Buffer.from(data);
      damaged[at] ^= 0x01;
      expect(snapshotProblem(damaged), `byte ${at}`).not.toBeNull();
    }
    expect(snapshotProblem(data.subarray(0, data.length - 1))).not.toBeNull();
    expect(snapshotProblem(data.subarray(0, 10))).toMatch(/too short/);
    expect(snapshotProblem(data, { index: 1234, term: 8 })).toMatch(/metadata says/);
  });

  it("hands out the same bytes piece by piece as whole", () => {
    const fill = (encoder: SnapshotEncoder, step: (i: number) => void) => {
      encoder.add(text("lbig"), new Uint8Array(300_000).fill(3));
      for (let i = 0; i < 30_000; i++) {
        encoder.add(text(`lk${i}`), text(`value-${i}`));
        step(i);
      }
    };
    const whole = new SnapshotEncoder(42, 6);
    fill(whole, () => undefined);
    const streamed = new SnapshotEncoder(42, 6);
    const pieces: Buffer[] = [];
    fill(streamed, (i) => {
      if (i % 1000 === 0) pieces.push(...streamed.takePieces());
    });
    pieces.push(...streamed.finishPieces());
    const data = whole.finish();
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
    expect(streamed.byteLength).toBe(data.length);
  });

  it("checks bytes arriving in pieces of any size as it checks them whole", () => {
    const data = sample(40);
    // Damage that the checksum alone would catch, and damage to the structure under a valid one.
    const resealed = (damage: (bytes: Buffer) => void): Buffer => {
      const bytes = Buffer.from(data);
      damage(bytes);
      bytes.writeUInt32BE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
      return bytes;
    };
    const header = 24;
    const cases: Array<[string, Buffer]> = [
      ["intact", data],
      ["flipped value byte", Buffer.from(data).fill(0x55, 40, 41)],
      ["flipped checksum", Buffer.from(data).fill(0, data.length - 1)],
      ["truncated", data.subarray(0, data.length - 7)],
      ["too short", data.subarray(0, 20)],
      ["key length past the end", resealed((b) => b.writeUInt32BE(1_000_000, header))],
      ["value length past the end", resealed((b) => b.writeUInt32BE(1_000_000, header + 4 + 7))],
      ["record count", resealed((b) => b.writeUInt32BE(41, b.length - 8))],
      ["early end marker", resealed((b) => b.writeUInt32BE(0xffff_ffff, header))],
      ["bad magic", resealed((b) => b.fill(0x41, 0, 1))],
    ];
    for (const [name, bytes] of cases) {
      const expected = snapshotProblem(bytes, { index: 1234, term: 7 });
      if (name === "intact") expect(expected).toBeNull();
      else expect(expected, name).not.toBeNull();
      for (const pieceBytes of [1, 2, 3, 5, 11, 17, 64, 1000]) {
        const scan = new SnapshotScan(bytes.length, { index: 1234, term: 7 });
        for (let at = 0; at < bytes.length; at += pieceBytes) {
          scan.update(bytes.subarray(at, Math.min(bytes.length, at + pieceBytes)));
        }
        expect(scan.problem(), `${name} in pieces of ${pieceBytes}`).toBe(expected);
      }
    }
  });
});
