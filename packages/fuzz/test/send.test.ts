// sendInput's verdicts on a server that refuses and closes late. Regression for seed 1188151766
// of the mutual-TLS peer test: under a CPU hog the server's close after its HANDSHAKE_FAILED
// error arrived after the 250 ms dwell of a damaged input, and the fuzzer said the server "kept
// the connection open". The close deadline after a reply is now its own (closeAfterReplyMs).
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameEncoder } from "@dlock/protocol";
import { connectPlain } from "../src/connection.js";
import { sendInput } from "../src/send.js";

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

/** A server that answers every connection with one error frame and closes it `closeAfterMs` later. */
async function lateClosingServer(closeAfterMs: number): Promise<string> {
  const frame = new FrameEncoder().encode({
    type: "error",
    error: { code: "HANDSHAKE_FAILED", message: "not a node certificate" },
  });
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.write(frame);
    const timer = setTimeout(() => socket.end(), closeAfterMs);
    socket.on("close", () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server?.address() as AddressInfo).port}`;
}

function send(address: string, closeAfterReplyMs?: number) {
  return sendInput({
    connect: connectPlain,
    address,
    chunks: [Buffer.from([0, 0, 0, 2, 0x81])],
    timeoutMs: DWELL_MS,
    framed: true,
    endAfterWrite: false,
    gapMs: 0,
    dwellMs: 0,
    ...(closeAfterReplyMs === undefined ? {} : { closeAfterReplyMs }),
  });
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
});
