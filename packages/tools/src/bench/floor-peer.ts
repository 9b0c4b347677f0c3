// One process of the commit-floor probe (commit-floor.ts): the least a server can do per request.
//   node floor-peer.js single DIR      — a single server: write + fdatasync, then answer
//   node floor-peer.js leader DIR PORT — forward to the follower at PORT, write + fdatasync its
//                                        own copy meanwhile, answer at the follower's answer
//   node floor-peer.js follower DIR    — write + fdatasync, then answer
// It prints its listening port on stdout and serves until its parent closes stdin. Frames are a
// 4-byte big-endian length and a payload; there is no parsing, no state and no encoding, so what
// it measures is the disk, the loopback and the process wake-ups a real commit cannot avoid.
import { fdatasyncSync, openSync, writeSync } from "node:fs";
import { connect, createServer } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { onFrames } from "./floor-frames.js";

type Role = "single" | "leader" | "follower";

/**
 * Appends `frame` to the file and makes it durable, as a commit's log write must — on the main
 * thread, as Redis does, so no thread hand-off is counted that a server could avoid.
 */
class SyncedLog {
  constructor(private readonly fd: number) {}

  append(frame: Buffer): void {
    writeSync(this.fd, frame);
    fdatasyncSync(this.fd);
  }
}

async function main(): Promise<void> {
  const [role, dir, followerPort] = process.argv.slice(2) as [Role, string, string | undefined];
  const log = new SyncedLog(openSync(join(dir, `floor-${role}.log`), "w"));
  let follower: Socket | null = null;
  const acks: Array<() => void> = [];
  if (role === "leader") {
    follower = connect({ port: Number(followerPort), host: "127.0.0.1", noDelay: true });
    onFrames(follower, () => acks.shift()?.());
    await new Promise<void>((resolve) => follower!.once("connect", () => resolve()));
  }
  const server = createServer({ noDelay: true }, (socket) => {
    onFrames(socket, (frame) => {
      if (follower === null) {
        log.append(frame);
        socket.write(frame);
        return;
      }
      // The follower's round trip runs while this process writes its own copy.
      acks.push(() => socket.write(frame));
      follower.write(frame);
      log.append(frame);
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
