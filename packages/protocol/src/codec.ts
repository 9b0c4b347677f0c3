// msgpack bodies behind a 4-byte big-endian length. Records (msgpackr's shared structures) are
// off: they make a stream stateful, which breaks on reconnects and lets one message change how
// the next is read. Structured clone is off: no cycles or references on the wire.
import { Packr, RESERVE_START_SPACE, Unpackr } from "msgpackr";
import { FrameTooLargeError, MalformedFrameError } from "./errors.js";
import { FRAME_BYTES_MAX } from "./limits.js";

/** Bytes of the length prefix in front of every frame body. */
export const FRAME_HEADER_BYTES = 4;

const PACKR_OPTIONS = {
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  encodeUndefinedAsNil: false,
} as const;

const UNPACKR_OPTIONS = {
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: "number",
  // Binary fields are views into the body: decodeBody hands it a body that nothing else uses.
  copyBuffers: false,
} as const;

/**
 * Encodes frames. One encoder packs into a reused buffer (msgpackr's) with room reserved for the
 * length prefix, so a frame costs no copy: the returned Buffer stays valid until the caller drops it.
 */
export class FrameEncoder {
  readonly frameBytesMax: number;
  private readonly packr = new Packr(PACKR_OPTIONS);

  constructor(frameBytesMax = FRAME_BYTES_MAX) {
    this.frameBytesMax = frameBytesMax;
  }

  /** The length-prefixed frame of `message`. Throws FrameTooLargeError over `frameBytesMax`. */
  encode(message: unknown): Buffer {
    const frame = this.packr.pack(message, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
    const bodyBytes = frame.length - FRAME_HEADER_BYTES;
    if (bodyBytes > this.frameBytesMax) throw new FrameTooLargeError(bodyBytes, this.frameBytesMax);
    frame.writeUInt32BE(bodyBytes, 0);
    return frame;
  }

  /** The msgpack body alone (no length prefix), e.g. for storing a message. */
  encodeBody(message: unknown): Buffer {
    return this.packr.pack(message);
  }
}

const sharedUnpackr = new Unpackr(UNPACKR_OPTIONS);

/** msgpack's bin 8, bin 16 and bin 32 headers: a body without these bytes has no binary field. */
const BIN_HEADERS = [0xc4, 0xc5, 0xc6] as const;

/**
 * Decodes one msgpack body. Throws MalformedFrameError for anything that is not exactly one value.
 *
 * Binary fields never alias `body` (a socket chunk, which they would pin and could see reused)
 * unless `owned` says nothing else holds it: a body with a bin header byte is copied once, and its
 * binary fields are views into that copy. A copy per field (msgpackr's copyBuffers) cost a
 * follower an ArrayBuffer per entry of every append: half of decoding 32 entries.
 */
export function decodeBody(body: Uint8Array, owned = false): unknown {
  if (body.length === 0) throw new MalformedFrameError("empty frame body");
  const source = owned || !mayHoldBinary(body) ? body : copyOf(body);
  try {
    return sharedUnpackr.unpack(source);
  } catch (error) {
    throw new MalformedFrameError("frame body is not valid msgpack", { cause: error });
  }
}

/** False only if `body` holds no byte that can start a bin (a string or a number may hold one). */
function mayHoldBinary(body: Uint8Array): boolean {
  for (const header of BIN_HEADERS) if (body.indexOf(header) >= 0) return true;
  return false;
}

function copyOf(body: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafe(body.length);
  copy.set(body);
  return copy;
}
