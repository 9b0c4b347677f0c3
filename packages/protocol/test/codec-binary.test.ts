// Binary fields decode as views into one copy of the body, not a copy each: these pin down that
// they still never alias the input, decode the same values as per-field copies did, and that
// hostile bins fail as typed errors.
import fc from "fast-check";
import { Packr, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeBody, FrameDecoder, FrameEncoder, MalformedFrameError } from "../src/index.js";

const encoder = new FrameEncoder();
/** The decoder as it was configured before: a fresh copy per binary field. */
const copyEachField = new Unpackr({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: "number",
  copyBuffers: true,
});

const entry = (index: number, fill: number) => ({
  index,
  term: 3,
  kind: "normal",
  data: Buffer.alloc(40, fill),
});
const appendBatch = {
  type: "raft",
  messages: [{ type: "append", prevIndex: 9, entries: [entry(10, 1), entry(11, 2), entry(12, 3)] }],
};

type Batch = { messages: [{ entries: Array<{ data: Uint8Array }> }] };

describe("decodeBody and binary fields", () => {
  it("decodes bins from a chunk that is overwritten afterwards (in place)", () => {
    const frame = Buffer.from(encoder.encode(appendBatch));
    const out: unknown[] = [];
    new FrameDecoder().push(frame, (body) => out.push(body));
    frame.fill(0);
    const datas = (out[0] as Batch).messages[0].entries.map((e) => [...e.data]);
    expect(datas).toEqual([1, 2, 3].map((fill) => new Array<number>(40).fill(fill)));
  });

  it("decodes bins from chunks that are overwritten afterwards (assembled across chunks)", () => {
    const frame = Buffer.from(encoder.encode(appendBatch));
    const chunks = [frame.subarray(0, 30), frame.subarray(30, 90), frame.subarray(90)];
    const out: unknown[] = [];
    const decoder = new FrameDecoder();
    for (const chunk of chunks) decoder.push(chunk, (body) => out.push(body));
    frame.fill(0);
    const datas = (out[0] as Batch).messages[0].entries.map((e) => [...e.data]);
    expect(datas).toEqual([1, 2, 3].map((fill) => new Array<number>(40).fill(fill)));
  });

  it("gives every bin of a body its own bytes: writing one changes no other", () => {
    const body = new Packr({ useRecords: false }).pack(appendBatch);
    const decoded = decodeBody(body) as Batch;
    const [first, second, third] = decoded.messages[0].entries;
    first!.data.fill(9);
    expect([...second!.data]).toEqual(new Array<number>(40).fill(2));
    expect([...third!.data]).toEqual(new Array<number>(40).fill(3));
    expect(body.includes(Buffer.alloc(40, 9))).toBe(false);
  });

  it("decodes the same values as a copy per field, and never aliases the body (property)", () => {
    const seed = Number(process.env.DLOCK_SEED ?? Date.now() % 2 ** 31);
    console.log(`decodeBody binary property seed=${seed} (replay: DLOCK_SEED=${seed})`);
    const leaf = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
      // Sizes across bin 8 and bin 16 (bin 32 is tested below).
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.array(tie("node"), { maxLength: 5 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie("node"), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, fc.boolean(), (message, owned) => {
        const body = Buffer.from(encoder.encodeBody(message));
        const before = copyEachField.unpack(Buffer.from(body));
        const decoded = decodeBody(body, owned);
        expect(decoded).toEqual(before);
        if (!owned) {
          body.fill(0xc4);
          expect(decoded).toEqual(before);
        }
      }),
      { seed, numRuns: 500 },
    );
  });

  it("decodes a bin 32 field", () => {
    const data = Buffer.alloc(70_000, 5);
    const body = Buffer.from(encoder.encodeBody({ data }));
    expect(body[body.indexOf(0xc6)]).toBe(0xc6);
    const decoded = decodeBody(body) as { data: Uint8Array };
    body.fill(0);
    expect(Buffer.from(decoded.data).equals(data)).toBe(true);
  });

  it("refuses truncated and oversize bins with a typed error", () => {
    // bin 8 announcing 16 bytes, 3 present.
    expect(() => decodeBody(Uint8Array.of(0xc4, 16, 1, 2, 3))).toThrow(MalformedFrameError);
    // bin 16 and bin 32 announcing far more than the body holds.
    expect(() => decodeBody(Uint8Array.of(0xc5, 0xff, 0xff, 1))).toThrow(MalformedFrameError);
    expect(() => decodeBody(Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff, 1))).toThrow(
      MalformedFrameError,
    );
    // A map whose value is a truncated bin, owned or not.
    const truncated = Uint8Array.of(0x81, 0xa1, 0x64, 0xc4, 8, 1, 2);
    expect(() => decodeBody(truncated)).toThrow(MalformedFrameError);
    expect(() => decodeBody(truncated, true)).toThrow(MalformedFrameError);
  });

  it("decodes a body without bins in place, and bytes that look like bin headers in strings", () => {
    const message = { key: "\u00c4\u00c5\u00c6", n: 0xc4c5c6, s: "plain" };
    const body = Buffer.from(encoder.encodeBody(message));
    expect(decodeBody(body)).toEqual(message);
  });
});
