import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FrameDecoder,
  FrameEncoder,
  FrameTooLargeError,
  MalformedFrameError,
} from "../src/index.js";

const encoder = new FrameEncoder();

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): unknown[] {
  const out: unknown[] = [];
  for (const chunk of chunks) decoder.push(chunk, (body) => out.push(body));
  return out;
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(last, point));
    last = point;
  }
  chunks.push(bytes.subarray(last));
  return chunks;
}

describe("FrameDecoder", () => {
  it("decodes many frames from one chunk", () => {
    const messages = [
      { type: "status", id: 1 },
      { type: "get", id: 2, key: "a" },
      { n: [1, 2, 3] },
    ];
    const stream = Buffer.concat(messages.map((m) => encoder.encode(m)));
    expect(decodeAll(new FrameDecoder(), [stream])).toEqual(messages);
  });

  it("decodes a frame delivered one byte at a time", () => {
    const message = { type: "acquire", id: 7, key: "k", value: "v", ttlMs: 1000, requestId: "r" };
    const frame = encoder.encode(message);
    const decoder = new FrameDecoder();
    const chunks = [...frame].map((byte) => Uint8Array.of(byte));
    const out = decodeAll(decoder, chunks);
    expect(out).toEqual([message]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("keeps binary payloads intact and unaliased from the input chunk", () => {
    const data = new Uint8Array([1, 2, 3, 250]);
    const frame = Buffer.from(encoder.encode({ type: "raft", messages: [{ data }] }));
    const [body] = decodeAll(new FrameDecoder(), [frame]) as [{ messages: [{ data: Uint8Array }] }];
    frame.fill(0);
    expect([...body.messages[0].data]).toEqual([1, 2, 3, 250]);
  });

  it("reassembles any split of any sequence of frames (property)", () => {
    const seed = Number(process.env.DLOCK_SEED ?? Date.now() % 2 ** 31);
    console.log(`FrameDecoder split property seed=${seed} (replay: DLOCK_SEED=${seed})`);
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), value, { maxKeys: 5 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, cuts) => {
          const stream = Buffer.concat(messages.map((m) => encoder.encode(m)));
          const decoder = new FrameDecoder();
          expect(decodeAll(decoder, splitAt(stream, cuts))).toEqual(messages);
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it("rejects an oversize length before buffering the body, and stays failed", () => {
    const decoder = new FrameDecoder({ frameBytesMax: 16 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(17, 0);
    expect(() => decoder.push(header, () => {})).toThrow(FrameTooLargeError);
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.push(encoder.encode({ a: 1 }), () => {})).toThrow(FrameTooLargeError);
  });

  it("reports the announced length and the limit of an oversize frame", () => {
    const decoder = new FrameDecoder({ frameBytesMax: 1024 });
    try {
      decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff]), () => {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect((error as FrameTooLargeError).code).toBe("FRAME_TOO_LARGE");
      expect((error as FrameTooLargeError).frameBytes).toBe(0xffffffff);
      expect((error as FrameTooLargeError).frameBytesMax).toBe(1024);
    }
  });

  it("rejects a zero-length frame and an undecodable body as malformed", () => {
    expect(() => new FrameDecoder().push(Buffer.alloc(4), () => {})).toThrow(MalformedFrameError);
    // 0xdc = array16 announcing 0xffff elements, with none following: truncated msgpack.
    const truncated = Buffer.from([0, 0, 0, 3, 0xdc, 0xff, 0xff]);
    expect(() => new FrameDecoder().push(truncated, () => {})).toThrow(MalformedFrameError);
    // Two msgpack values in one frame body: trailing bytes are malformed too.
    const twoValues = Buffer.from([0, 0, 0, 2, 0x01, 0x02]);
    expect(() => new FrameDecoder().push(twoValues, () => {})).toThrow(MalformedFrameError);
  });

  it("delivers the frames before a malformed one, then fails", () => {
    const good = encoder.encode({ type: "status", id: 1 });
    const bad = Buffer.from([0, 0, 0, 1, 0xc4]); // bin8 without its length byte
    const out: unknown[] = [];
    const decoder = new FrameDecoder();
    expect(() => decoder.push(Buffer.concat([good, bad]), (b) => out.push(b))).toThrow(
      MalformedFrameError,
    );
    expect(out).toEqual([{ type: "status", id: 1 }]);
    expect(() => decoder.push(good, () => {})).toThrow(MalformedFrameError);
  });

  it("never throws anything but a typed frame error on garbage bytes (property)", () => {
    const seed = Number(process.env.DLOCK_SEED ?? Date.now() % 2 ** 31);
    console.log(`FrameDecoder garbage property seed=${seed} (replay: DLOCK_SEED=${seed})`);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const decoder = new FrameDecoder({ frameBytesMax: 4096 });
        try {
          for (const chunk of chunks) decoder.push(chunk, () => {});
        } catch (error) {
          expect(error instanceof FrameTooLargeError || error instanceof MalformedFrameError).toBe(
            true,
          );
        }
      }),
      { seed, numRuns: 1000 },
    );
  });
});

describe("FrameEncoder", () => {
  it("prefixes the body with its length, big-endian", () => {
    const frame = encoder.encode({ type: "status", id: 1 });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  });

  it("returns frames that later encodes do not overwrite", () => {
    const first = encoder.encode({ n: 1 });
    const copy = Buffer.from(first);
    for (let i = 0; i < 5000; i++) encoder.encode({ n: i, pad: "x".repeat(i % 50) });
    expect(first.equals(copy)).toBe(true);
  });

  it("refuses to encode a body over its limit", () => {
    const small = new FrameEncoder(64);
    expect(() => small.encode({ blob: "x".repeat(100) })).toThrow(FrameTooLargeError);
  });

  it("round-trips safe integers beyond 32 bits (fencing tokens are Raft indexes)", () => {
    const out = decodeAll(new FrameDecoder(), [encoder.encode({ t: 2 ** 53 - 1, u: 2 ** 40 })]);
    expect(out).toEqual([{ t: 2 ** 53 - 1, u: 2 ** 40 }]);
  });
});
