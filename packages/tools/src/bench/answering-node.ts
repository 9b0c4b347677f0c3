// The bare node of the client-cost probe (client-cost.ts): it speaks the client protocol and answers
// every acquire, refresh and release at once with a canned success, keeping no state and writing
// nothing, so a client driven against it spends only its own CPU per request.
//   node answering-node.js — prints its listening port on stdout; serves until stdin closes.
// The answers to the requests of one read go out in one socket write, as a dlock server's do.
import { createServer } from "node:net";
import { FrameDecoder, FrameEncoder, helloVersionFields } from "@dlock/protocol";
import type { ClientRequest, ClientResponse, HelloFrame } from "@dlock/protocol";

/** The cluster id it claims: a Locker without clusterId accepts any. */
const CLUSTER_ID = "client-cost";

function answerOf(request: ClientRequest, token: number): ClientResponse {
  const id = request.id;
  switch (request.type) {
    case "acquire":
      return { type: "ok", id, result: { fencingToken: token, ttlMs: request.ttlMs, waitedMs: 0 } };
    case "refresh":
      return { type: "ok", id, result: { ttlMs: request.ttlMs } };
    case "release":
      return { type: "ok", id, result: { released: true } };
    default:
      return {
        type: "error",
        id,
        error: {
          code: "INVALID_ARGUMENT",
          message: `the client-cost node answers acquire, refresh and release only, not ${request.type}`,
          field: "type",
        },
      };
  }
}

function main(): void {
  const encoder = new FrameEncoder();
  let token = 0;
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on("error", () => socket.destroy());
    const decoder = new FrameDecoder();
    let greeted = false;
    socket.on("data", (chunk: Buffer) => {
      const frames: Uint8Array[] = [];
      try {
        decoder.push(chunk, (body) => {
          if (!greeted) {
            greeted = true;
            const hello: HelloFrame = {
              type: "hello",
              ...helloVersionFields(),
              clusterId: CLUSTER_ID,
              role: "client",
              nodeId: "n1",
            };
            frames.push(encoder.encode(hello));
            return;
          }
          frames.push(encoder.encode(answerOf(body as ClientRequest, ++token)));
        });
      } catch (error) {
        process.stderr.write(`client-cost node: ${String(error)}\n`);
        socket.destroy();
        return;
      }
      if (frames.length > 0) socket.write(Buffer.concat(frames));
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

main();
