// What this machine allows at best: the round trip of a request to a server that does nothing but
// make it durable (write + fdatasync, as an fsync-always Redis does per write), beside the round
// trip of a replicated commit that does nothing else (the leader's own write + fdatasync in
// parallel with one follower's round trip and write + fdatasync, as a 3-node Raft group's leader
// needs for a majority). The servers are bare processes (floor-peer.ts) on the same disk and
// loopback as the cluster, so the ratio of the two is the floor under dlock's serial-cycle ratio
// against such a server: no code can beat it here.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { onFrames } from "./floor-frames.js";
import { summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export interface CommitFloor {
  /** Round trip to one server that writes and fdatasyncs each request before answering. */
  singleMs: LatencySummary;
  /** Round trip of a bare replicated commit (leader fsync ∥ follower round trip + fsync). */
  replicatedMs: LatencySummary;
  /** replicated p50 / single p50: the least dlock's serial cycle can be, against a single server's. */
  ratioP50: number;
  requests: number;
}

/** The built peer, tools/dist/bench/floor-peer.js, whether this runs from tools/src (vitest) or dist. */
const PEER_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "dist",
  "bench",
  "floor-peer.js",
);
/** Requests per probe, after as many again to warm up. */
const REQUESTS_DEFAULT = 1_000;
/** A request's payload: about an acquire's log entry. */
export const FLOOR_PAYLOAD_BYTES = 120;

async function startPeer(
  role: string,
  dir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [PEER_SCRIPT, role, dir, ...extra], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.once("exit", (code) =>
      reject(new Error(`commit floor: the ${role} process exited (${code}) before listening`)),
    );
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
  });
  child.removeAllListeners("exit");
  return { child, port };
}

/** Serial round trips to the server at `port`: `requests` measured after as many to warm up. */
async function roundTrips(port: number, requests: number): Promise<number[]> {
  const socket: Socket = connect({ port, host: "127.0.0.1", noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const frame = Buffer.alloc(4 + FLOOR_PAYLOAD_BYTES, 7);
  frame.writeUInt32BE(FLOOR_PAYLOAD_BYTES, 0);
  let answered: (() => void) | null = null;
  onFrames(socket, () => answered?.());
  const durations: number[] = [];
  for (let i = 0; i < 2 * requests; i++) {
    const startedAt = performance.now();
    await new Promise<void>((resolve) => {
      answered = resolve;
      socket.write(frame);
    });
    if (i >= requests) durations.push(performance.now() - startedAt);
  }
  socket.destroy();
  return durations;
}

function stop(children: ChildProcess[]): void {
  for (const child of children) child.stdin?.end();
}

/** Measures the commit floor with bare processes writing in `dir` (a folder on the cluster's disk). */
export async function measureCommitFloor(
  dir: string,
  requests = REQUESTS_DEFAULT,
): Promise<CommitFloor> {
  const children: ChildProcess[] = [];
  try {
    const single = await startPeer("single", dir);
    children.push(single.child);
    const singleMs = summarize(await roundTrips(single.port, requests))!;
    const follower = await startPeer("follower", dir);
    children.push(follower.child);
    const leader = await startPeer("leader", dir, [String(follower.port)]);
    children.push(leader.child);
    const replicatedMs = summarize(await roundTrips(leader.port, requests))!;
    return { singleMs, replicatedMs, ratioP50: replicatedMs.p50 / singleMs.p50, requests };
  } finally {
    stop(children);
  }
}

export function formatCommitFloor(floor: CommitFloor): string {
  return (
    `commit floor (bare processes, same disk and loopback, ${floor.requests} serial requests each): ` +
    `one fsync-always server's round trip p50 ${floor.singleMs.p50.toFixed(3)} ms; ` +
    `a replicated commit's (leader fsync ∥ follower round trip + fsync) p50 ${floor.replicatedMs.p50.toFixed(3)} ms — ` +
    `so a serial cycle here is at best x${floor.ratioP50.toFixed(2)} such a server's`
  );
}
