// sendInput's verdicts on a server that refuses and closes late. Regression for seed 1188151766
// of the mutual-TLS peer test: under a CPU hog the server's close after its HANDSHAKE_FAILED
// error arrived after the 250 ms dwell of a damaged input, and the fuzzer said the server "kept
// the connection open". The close deadline after a reply is now its own (closeAfterReplyMs).
// Seed 175342348 (100 s run under load) said the same with that deadline at 10 s: a fuzzer
// starved of CPU past the deadline ran the deadline's timer before reading the close that was
// already there. The verdict now reads pending I/O first, and a FIN counts as the close.
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameEncoder } from "@dlock/protocol";
import { Worker } from "node:worker_threads";
import { connectPlain } from "../src/connection.js";
import type { Connect } from "../src/connection.js";
import { sendInput } from "../src/send.js";
import type { SendOptions } from "../src/send.js";

const DWELL_MS = 50;
/** Later than the dwell by far, so that the first case holds on a loaded machine. */
const VERY_LATE_CLOSE_MS = 10_000;
const LATE_CLOSE_MS = 400;

let server: Server | null = null;
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await new Promise<void>((resolve) =>
    server === null ? resolve() : server.close(() => resolve()),
  );
  server = null;
});

/**
 * A server that answers every connection with one error frame and closes it `closeAfterMs` later;
 * `stallMs` then holds this process's event loop (the fuzzer's too) that long once the close is out.
 */
async function lateClosingServer(closeAfterMs: number, stallMs = 0): Promise<string> {
  const frame = new FrameEncoder().encode({
    type: "error",
    error: { code: "HANDSHAKE_FAILED", message: "not a node certificate" },
  });
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.write(frame);
    const timer = setTimeout(() => socket.end(), closeAfterMs);
    socket.once("finish", () => {
      const until = performance.now() + stallMs;
      while (performance.now() < until) {
        // A CPU hog: the fuzzer's timers expire while the server's FIN waits unread.
      }
    });
    socket.on("close", () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server?.address() as AddressInfo).port}`;
}

/** Holds this thread `ms` and until `closed[0]` is set (the server's close is out), 60 s at most. */
function hog(ms: number, closed: Int32Array): void {
  const until = performance.now() + ms;
  const limit = performance.now() + 60_000;
  while (
    (performance.now() < until || Atomics.load(closed, 0) === 0) &&
    performance.now() < limit
  ) {
    // Holds this thread: its timers expire while a close waits unread.
  }
}

/** lateClosingServer on a worker thread, which a hog on this thread does not hold up. */
async function threadServer(
  closeAfterMs: number,
): Promise<{ address: string; closed: Int32Array; stop: () => Promise<number> }> {
  const frame = new FrameEncoder().encode({
    type: "error",
    error: { code: "HANDSHAKE_FAILED", message: "not a node certificate" },
  });
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { createServer } = require("node:net");
     const { parentPort, workerData } = require("node:worker_threads");
     const server = createServer((socket) => {
       socket.on("error", () => undefined);
       socket.write(Buffer.from(workerData.frame));
       socket.once("finish", () => Atomics.store(workerData.closed, 0, 1));
       setTimeout(() => socket.end(), workerData.closeAfterMs);
     });
     server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));`,
    { eval: true, workerData: { frame: Uint8Array.from(frame), closeAfterMs, closed } },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return { address: `127.0.0.1:${port}`, closed, stop: () => worker.terminate() };
}

function sendOptions(address: string, closeAfterReplyMs?: number): SendOptions {
  return {
    connect: connectPlain,
    address,
    chunks: [Buffer.from([0, 0, 0, 2, 0x81])],
    timeoutMs: DWELL_MS,
    framed: true,
    endAfterWrite: false,
    gapMs: 0,
    dwellMs: 0,
    ...(closeAfterReplyMs === undefined ? {} : { closeAfterReplyMs }),
  };
}

function send(address: string, closeAfterReplyMs?: number) {
  return sendInput(sendOptions(address, closeAfterReplyMs));
}

describe("sendInput with a server that refuses, then closes late", () => {
  it("without a grace after the reply, the short watch calls it timed out", async () => {
    const address = await lateClosingServer(VERY_LATE_CLOSE_MS);
    const outcome = await send(address);
    expect(outcome.frames).toHaveLength(1);
    expect(outcome.timedOut).toBe(true);
  });

  it("with closeAfterReplyMs, it waits for the close (seed 1188151766)", async () => {
    const address = await lateClosingServer(LATE_CLOSE_MS);
    const outcome = await send(address, 30_000);
    expect(outcome.frames).toHaveLength(1);
    expect(outcome.closed).toBe(true);
    expect(outcome.timedOut).toBe(false);
  });

  it("starved past its close deadline, it still sees a close that came in time (seed 175342348)", async () => {
    // The server runs on its own thread and closes at 300 ms, inside the 50 + 300 ms deadline.
    // The fuzzer's thread is held from 200 ms to 800 ms and until the close is out (a CPU hog),
    // in the phase after I/O, so its next turn runs the expired deadline's timer before it reads
    // the close.
    const { address, closed, stop } = await threadServer(300);
    try {
      let first = true;
      const connect: Connect = async (to) => {
        const socket = await connectPlain(to);
        if (first) {
          first = false;
          setTimeout(() => setImmediate(() => hog(600, closed)), 200);
        }
        return socket;
      };
      const outcome = await sendInput({ ...sendOptions(address, 300), connect });
      expect(outcome.frames).toHaveLength(1);
      expect(outcome.closed).toBe(true);
      expect(outcome.timedOut).toBe(false);
    } finally {
      await stop();
    }
  });
});
