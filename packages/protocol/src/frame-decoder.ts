// Turns a byte stream into frame bodies, without I/O: feed it chunks as they arrive. It handles
// frames split across chunks, many frames in one chunk, and refuses an oversize length before
// buffering anything of it.
import { FrameTooLargeError, MalformedFrameError } from "./errors.js";
import { decodeBody, FRAME_HEADER_BYTES } from "./codec.js";
import { FRAME_BYTES_MAX } from "./limits.js";

export interface FrameDecoderOptions {
  /** Largest body accepted; a larger announced length fails with FrameTooLargeError. */
  frameBytesMax?: number;
}

/**
 * A streaming decoder. After it throws (FRAME_TOO_LARGE or MALFORMED_FRAME) the stream is out of
 * sync: the decoder stays failed and every later `push` throws the same error; close the connection.
 * The same holds if `onFrame` throws (the rest of that chunk is not read).
 */
export class FrameDecoder {
  readonly frameBytesMax: number;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  /** The body being assembled across chunks, or null between frames. */
  private body: Buffer | null = null;
  private bodyFilled = 0;
  private failed = false;
  private failure: unknown = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX;
  }

  /** Bytes held for a frame not complete yet (0 between frames). */
  get bufferedBytes(): number {
    return this.headerFilled + this.bodyFilled;
  }

  /** Feeds one chunk; calls `onFrame` with each decoded body, in order. */
  push(chunk: Uint8Array, onFrame: (body: unknown) => void): void {
    if (this.failed) throw this.failure;
    try {
      this.pushUnchecked(chunk, onFrame);
    } catch (error) {
      this.failed = true;
      this.failure = error;
      throw error;
    }
  }

  private pushUnchecked(chunk: Uint8Array, onFrame: (body: unknown) => void): void {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let offset = 0;
    while (offset < bytes.length) {
      if (this.body !== null) {
        // Continue a body that started in an earlier chunk.
        const take = Math.min(this.body.length - this.bodyFilled, bytes.length - offset);
        bytes.copy(this.body, this.bodyFilled, offset, offset + take);
        this.bodyFilled += take;
        offset += take;
        if (this.bodyFilled < this.body.length) return;
        const body = this.body;
        this.body = null;
        this.bodyFilled = 0;
        // Assembled in its own buffer, which nothing else holds: no second copy.
        onFrame(decodeBody(body, true));
        continue;
      }
      let length: number;
      if (this.headerFilled === 0 && bytes.length - offset >= FRAME_HEADER_BYTES) {
        length = bytes.readUInt32BE(offset);
        offset += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, bytes.length - offset);
        bytes.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < FRAME_HEADER_BYTES) return;
        this.headerFilled = 0;
        length = this.header.readUInt32BE(0);
      }
      if (length > this.frameBytesMax) throw new FrameTooLargeError(length, this.frameBytesMax);
      if (length === 0) throw new MalformedFrameError("empty frame body");
      if (bytes.length - offset >= length) {
        // The whole body is in this chunk: decode in place, no copy.
        const body = bytes.subarray(offset, offset + length);
        offset += length;
        onFrame(decodeBody(body));
      } else {
        this.body = Buffer.allocUnsafe(length);
        this.bodyFilled = 0;
      }
    }
  }
}
