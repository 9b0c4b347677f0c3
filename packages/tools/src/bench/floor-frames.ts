// Length-prefixed frames for the commit-floor probe (commit-floor.ts, floor-peer.ts).
import type { Socket } from "node:net";

/** Calls `onFrame` with each whole frame (length prefix included) that arrives on `socket`. */
export function onFrames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = 4 + pending.readUInt32BE(0);
      if (pending.length < size) break;
      onFrame(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}
