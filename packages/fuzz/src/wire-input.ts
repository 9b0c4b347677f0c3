// A fuzz input for a framed port (client or peer), as a description that fast-check can shrink
// and print, rendered to bytes only when sent (peer messages need the target's current term).
// Every connection ends with a sentinel frame the server must refuse, so the fuzzer knows the
// server has read everything before it (frames are handled in order) without waiting for silence.
import fc from "fast-check";
import { FrameEncoder } from "@dlock/protocol";
import type { Mutation } from "./mutations.js";
import { applyMutations, mutationArb, mutationsKeepValidity, nthOf } from "./mutations.js";

/** The fuzzer's own encoder sends frames over the servers' limit (up to 16 MiB) as they are. */
const FUZZ_FRAME_BYTES_MAX = 16 * 1024 * 1024;
let encoder = new FrameEncoder(FUZZ_FRAME_BYTES_MAX);

/** Byte-level damage done to the encoded stream after the hello. */
export type ByteFault =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "length"; frame: number; length: number }
  | { kind: "insert"; at: number; bytes: Uint8Array };

export interface FramedInput<M> {
  /** Bytes before the hello (garbage, an HTTP request line, a TLS ClientHello...). */
  prelude: Uint8Array | null;
  /** The hello, as a template with mutations; "omit" sends none. */
  hello: { variant: number; mutations: readonly Mutation[] } | "omit";
  frames: Array<{ message: M; mutations: readonly Mutation[] }>;
  /** The last frame sent `repeat` times more: a flood of small frames. */
  flood: number;
  faults: readonly ByteFault[];
  /** Offsets at which the byte stream is cut into separate writes. */
  splits: readonly number[];
  /** A deeply nested msgpack body instead of nothing, right after the hello. */
  deepBody: number | null;
}

export interface Rendered {
  chunks: Buffer[];
  /** Whether every byte is well-formed and every message valid apart from unknown fields. */
  valid: boolean;
}

export const byteFaultArb: fc.Arbitrary<ByteFault> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat({ max: 4096 }),
    bit: fc.nat({ max: 7 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat({ max: 4096 }) }),
  fc.record({
    kind: fc.constant("length" as const),
    frame: fc.nat({ max: 8 }),
    length: fc.oneof(
      fc.constantFrom(0, 1, 2, 3, 0xffff_ffff, 0x7fff_ffff, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1),
      fc.nat({ max: 70_000 }),
    ),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat({ max: 4096 }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
);

/** Bytes that real misdirected traffic starts with, and noise. */
export const preludeArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(
    Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    // The first bytes of a TLS ClientHello record.
    Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
    Buffer.from("SSH-2.0-OpenSSH_9.6\r\n"),
    Buffer.from([0, 0, 0, 0]),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 64 }),
);

/**
 * `arb` one time in `oneIn`, else null. (fc.option's `freq` is the other way round: null one
 * time in `freq`.)
 */
export function sometimes<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: oneIn - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: arb },
  );
}

export function framedInputArb<M>(
  messageArb: fc.Arbitrary<M>,
  helloVariants: number,
): fc.Arbitrary<FramedInput<M>> {
  const mutations = fc.array(mutationArb, { maxLength: 3 });
  return fc.record({
    prelude: sometimes(preludeArb, 8),
    hello: fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({ variant: fc.constant(0), mutations: fc.constant<Mutation[]>([]) }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ variant: fc.nat({ max: helloVariants - 1 }), mutations }),
      },
      { weight: 1, arbitrary: fc.constant("omit" as const) },
    ),
    frames: fc.array(
      fc.record({
        message: messageArb,
        mutations: fc.oneof(
          { weight: 3, arbitrary: fc.constant([]) },
          { weight: 2, arbitrary: mutations },
        ),
      }),
      { maxLength: 6 },
    ),
    flood: fc.oneof(
      { weight: 12, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.nat({ max: 2000 }) },
    ),
    faults: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(byteFaultArb, { maxLength: 3 }) },
    ),
    splits: fc.oneof(
      { weight: 2, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(fc.nat({ max: 4096 }), { maxLength: 6 }) },
    ),
    deepBody: sometimes(fc.integer({ min: 100, max: 200_000 }), 20),
  });
}

/** A msgpack body of `depth` nested one-element arrays around nil (built by hand: no recursion). */
export function deepNestedFrame(depth: number): Buffer {
  const body = Buffer.alloc(depth + 1, 0x91);
  body[depth] = 0xc0;
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

export function encodeFrame(message: unknown): Buffer {
  try {
    return encoder.encode(message);
  } catch (error) {
    // msgpackr's packer may be left mid-buffer by a throw: never reuse it.
    encoder = new FrameEncoder(FUZZ_FRAME_BYTES_MAX);
    throw error;
  }
}

/** Shared rendering: `hellos[variant]` and `render(message)` supply the port-specific parts. */
export function renderFramed<M>(
  input: FramedInput<M>,
  hellos: readonly Record<string, unknown>[],
  render: (message: M) => { message: Record<string, unknown>; valid: boolean },
  sentinel: unknown,
): Rendered {
  let valid = input.prelude === null && input.deepBody === null && input.faults.length === 0;
  const head: Buffer[] = [];
  if (input.prelude !== null) head.push(Buffer.from(input.prelude));
  if (input.hello === "omit") valid = false;
  else {
    const template = nthOf(hellos, input.hello.variant);
    if (input.hello.variant % hellos.length !== 0 || !mutationsKeepValidity(input.hello.mutations))
      valid = false;
    head.push(encodeFrame(applyMutations(template, input.hello.mutations)));
  }
  const frames: Buffer[] = [];
  if (input.deepBody !== null) frames.push(deepNestedFrame(input.deepBody));
  for (const frame of input.frames) {
    const rendered = render(frame.message);
    if (!rendered.valid || !mutationsKeepValidity(frame.mutations)) valid = false;
    frames.push(encodeFrame(applyMutations(rendered.message, frame.mutations)));
  }
  // A flood repeats a small frame only: the point is many frames, not many bytes.
  const last = frames.at(-1);
  if (input.flood > 0 && last !== undefined && last.length <= 1024) {
    for (let i = 0; i < input.flood; i++) frames.push(last);
  }
  // Length faults rewrite a frame's prefix before the frames are joined.
  for (const fault of input.faults) {
    if (fault.kind !== "length" || frames.length === 0) continue;
    const index = fault.frame % frames.length;
    const copy = Buffer.from(nthOf(frames, index));
    copy.writeUInt32BE(fault.length >>> 0, 0);
    frames[index] = copy;
  }
  let stream = Buffer.concat([...frames, encodeFrame(sentinel)]);
  for (const fault of input.faults) {
    if (fault.kind === "flip" && stream.length > 0) {
      const copy = Buffer.from(stream);
      const at = fault.at % copy.length;
      copy.writeUInt8(copy.readUInt8(at) ^ (1 << fault.bit), at); // bit is 0..7 (byteFaultArb)
      stream = copy;
    } else if (fault.kind === "truncate" && stream.length > 0) {
      stream = stream.subarray(0, fault.at % stream.length);
    } else if (fault.kind === "insert") {
      const at = fault.at % (stream.length + 1);
      stream = Buffer.concat([
        stream.subarray(0, at),
        Buffer.from(fault.bytes),
        stream.subarray(at),
      ]);
    }
  }
  const all = Buffer.concat([...head, stream]);
  const cuts = [...new Set(input.splits.map((s) => s % (all.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut > from) chunks.push(all.subarray(from, cut));
    from = Math.max(from, cut);
  }
  if (from < all.length) chunks.push(all.subarray(from));
  return { chunks, valid };
}
