// Sends one input over a fresh connection and reports what the server did with it.
import type { Duplex } from "node:stream";
import { FrameDecoder } from "@dlock/protocol";
import type { Connect } from "./connection.js";

export interface Outcome {
  /** The server closed (ended or reset) the connection before the fuzzer gave up. */
  closed: boolean;
  /** Frames the server sent (framed ports) or the response bytes (admin). */
  frames: unknown[];
  bytes: number;
  /** The first bytes the server sent (an HTTP status line). */
  head: string;
  /** The connection could not be opened at all (the port is not listening). */
  refused: boolean;
  timedOut: boolean;
}

export interface SendOptions {
  connect: Connect;
  address: string;
  chunks: readonly Buffer[];
  timeoutMs: number;
  /** Decode the replies as frames (client and peer ports). */
  framed: boolean;
  /** Half-close after writing (HTTP: lets the server answer and close). */
  endAfterWrite: boolean;
  /** Hang up as soon as the server starts answering (HTTP: the status line is all that is checked). */
  stopOnReply?: boolean;
  /** Pause between chunks, ms (0: next tick). */
  gapMs: number;
  /** After the last chunk: stay silent this long, then hang up (a partial request left open). */
  dwellMs: number;
  /**
   * When the server has sent something by `timeoutMs` and not closed, wait up to this much longer
   * for the close before calling it timed out (a refusal is followed by a close, which a loaded
   * machine may deliver late).
   */
  closeAfterReplyMs?: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function sendInput(options: SendOptions): Promise<Outcome> {
  let socket: Duplex;
  try {
    socket = await options.connect(options.address);
  } catch {
    return { closed: true, frames: [], bytes: 0, head: "", refused: true, timedOut: false };
  }
  const outcome: Outcome = {
    closed: false,
    frames: [],
    bytes: 0,
    head: "",
    refused: false,
    timedOut: false,
  };
  const decoder = new FrameDecoder({ frameBytesMax: 64 * 1024 * 1024 });
  let replied: () => void = () => undefined;
  const reply = new Promise<void>((resolve) => (replied = resolve));
  const closed = new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      if (outcome.bytes < 64) outcome.head += chunk.subarray(0, 64).toString("latin1");
      outcome.bytes += chunk.length;
      if (options.stopOnReply === true && outcome.head.includes("\r\n")) replied();
      if (!options.framed) return;
      try {
        decoder.push(chunk, (body) => outcome.frames.push(body));
      } catch (error) {
        outcome.frames.push({ undecodable: String(error) });
      }
    });
    socket.on("error", () => {
      // A reset is one way of closing.
    });
    // The server's FIN is its close: the socket's own 'close' follows only after ours.
    const markClosed = () => {
      outcome.closed = true;
      resolve();
    };
    socket.once("end", markClosed);
    socket.once("close", markClosed);
  });
  const timer = pause(options.timeoutMs).then(async () => {
    const graceMs = options.closeAfterReplyMs ?? 0;
    if (graceMs > 0 && outcome.bytes > 0 && !outcome.closed) {
      await Promise.race([closed, pause(graceMs)]);
    }
    // A fuzzer starved of CPU past a deadline runs its expired timers before the I/O that came
    // in meanwhile: read that first, so a close that arrived in time is not taken for none.
    await new Promise<void>((resolve) => setImmediate(resolve));
    outcome.timedOut = !outcome.closed;
  });
  for (const [i, chunk] of options.chunks.entries()) {
    if (outcome.closed) break;
    if (i > 0) await pause(options.gapMs);
    socket.write(chunk);
  }
  if (options.dwellMs > 0) await Promise.race([closed, pause(options.dwellMs)]);
  else if (options.endAfterWrite && !outcome.closed) socket.end();
  if (options.dwellMs === 0) {
    await Promise.race([closed, timer, ...(options.stopOnReply === true ? [reply] : [])]);
  }
  socket.destroy();
  await closed;
  return outcome;
}
