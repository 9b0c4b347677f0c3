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
  // Decoded binary fields get their own memory, so they never pin (or alias) a socket chunk.
  copyBuffers: true,
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

/** Decodes one msgpack body. Throws MalformedFrameError for anything that is not exactly one value. */
export function decodeBody(body: Uint8Array): unknown {
  if (body.length === 0) throw new MalformedFrameError("empty frame body");
  try {
    return sharedUnpackr.unpack(body);
  } catch (error) {
    throw new MalformedFrameError("frame body is not valid msgpack", { cause: error });
  }
}
