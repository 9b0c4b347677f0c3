// One process of the commit-floor probe (commit-floor.ts): the least a server can do per request.
//   node floor-peer.js single DIR           — a single server: write + fdatasync, then answer
//   node floor-peer.js leader DIR PORT...   — forward to the followers at PORT..., write +
//                                             fdatasync its own copy meanwhile, answer at the
//                                             first follower's answer (with its own copy, a
//                                             majority of a three-node group)
//   node floor-peer.js follower DIR NAME    — write + fdatasync (to floor-NAME.log), then answer
// The frames that arrive in one turn of the event loop are one batch: one write + fdatasync and
// one socket write per connection, as Redis fsyncs once per loop iteration and dlock's group
// commit once per batch. A leader sends a batch to every follower before it writes its own copy,
// and goes on batching while the answers are on their way (as Raft's pipelined appends do). The
// slower follower still writes and syncs every batch on the same disk, as a group's third node
// does.
// It prints its listening port on stdout and serves until its parent closes stdin. Frames are a
// 4-byte big-endian length and a payload; there is no parsing, no state and no encoding, so what
// it measures is the disk, the loopback and the process wake-ups a commit cannot avoid.
import { fdatasyncSync, openSync, writeSync } from "node:fs";
import { connect, createServer } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { onFrames } from "./floor-frames.js";

type Role = "single" | "leader" | "follower";

interface Request {
  socket: Socket;
  frame: Buffer;
}

/** A leader's batch on its way to the followers: answered at the first acknowledgment. */
interface Batch {
  requests: Request[];
  answered: boolean;
}

/** A follower's answer to one frame from the leader (a leader's batch): an empty frame. */
const ACK = Buffer.alloc(4);

/** Writes each request's frame back to its connection, one socket write per connection. */
function answer(batch: readonly Request[]): void {
  const bySocket = new Map<Socket, Buffer[]>();
  for (const { socket, frame } of batch) {
    const frames = bySocket.get(socket);
    if (frames === undefined) bySocket.set(socket, [frame]);
    else frames.push(frame);
  }
  for (const [socket, frames] of bySocket) {
    if (!socket.destroyed) socket.write(Buffer.concat(frames));
  }
}

async function main(): Promise<void> {
  const [role, dir, ...rest] = process.argv.slice(2) as [Role, string, ...string[]];
  const name = role === "follower" ? (rest[0] ?? "follower") : role;
  // Synced on the main thread, as Redis does: no thread hand-off a server could avoid is counted.
  const fd = openSync(join(dir, `floor-${name}.log`), "w");
  const append = (frames: Buffer[]) => {
    writeSync(fd, Buffer.concat(frames));
    fdatasyncSync(fd);
  };
  /** Each follower's connection and its batches sent and not yet acknowledged, oldest first. */
  const followers: { socket: Socket; unacknowledged: Batch[] }[] = [];
  if (role === "leader") {
    for (const port of rest) {
      const socket = connect({ port: Number(port), host: "127.0.0.1", noDelay: true });
      socket.on("error", (error) => {
        process.stderr.write(`commit floor: the leader lost a follower: ${error.message}\n`);
        process.exit(1);
      });
      const follower = { socket, unacknowledged: [] as Batch[] };
      // The first acknowledgment of a batch makes it a majority's; a later one changes nothing.
      onFrames(socket, () => {
        const batch = follower.unacknowledged.shift();
        if (batch === undefined || batch.answered) return;
        batch.answered = true;
        answer(batch.requests);
      });
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      followers.push(follower);
    }
  }
  let pending: Request[] = [];
  const commit = () => {
    const batch = pending;
    pending = [];
    const frames = batch.map((request) => request.frame);
    if (role === "follower") {
      append(frames);
      const leader = batch[0]!.socket;
      if (!leader.destroyed) leader.write(Buffer.concat(batch.map(() => ACK)));
    } else if (followers.length === 0) {
      append(frames);
      answer(batch);
    } else {
      const replicated: Batch = { requests: batch, answered: false };
      const body = Buffer.concat(frames);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length, 0);
      const forwarded = Buffer.concat([head, body]);
      for (const follower of followers) {
        follower.unacknowledged.push(replicated);
        follower.socket.write(forwarded);
      }
      append(frames);
    }
  };
  const server = createServer({ noDelay: true }, (socket) => {
    // The probe hangs up with requests in flight: answers to a closed connection are dropped.
    socket.on("error", () => socket.destroy());
    onFrames(socket, (frame) => {
      if (pending.length === 0) setImmediate(commit);
      pending.push({ socket, frame });
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

void main();
