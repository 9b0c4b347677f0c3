// What this machine allows at best: a server that does nothing but make each request durable
// (write + fdatasync per batch, as an fsync-always Redis does per loop iteration), beside a
// replicated commit of a three-node group that does nothing else: the leader's own write +
// fdatasync in parallel with two followers' round trips and writes + fdatasyncs, answered at the
// first follower's answer (a majority) while the other one syncs on the same disk too, as a
// group's third node does. Measured serially (round trips) and with many requests at once on one
// connection (requests per second). The servers are bare processes (floor-peer.ts) on the same
// disk and loopback as the cluster, so the replicated/single ratios are floors under dlock's
// ratios against such a server: no code can beat them here.
import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { builtBenchScript, startBareProcess, stopBareProcess } from "./bare-process.js";
import { onFrames } from "./floor-frames.js";
import { perSecondText, processCpuMs, summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export interface CommitFloor {
  /** Round trip to one server that writes and fdatasyncs each request before answering. */
  singleMs: LatencySummary;
  /** Round trip of a bare replicated commit (leader fsync ∥ two followers' round trip + fsync). */
  replicatedMs: LatencySummary;
  /** replicated p50 / single p50: the least dlock's serial cycle can be, against a single server's. */
  ratioP50: number;
  /** Serial requests measured per probe. */
  requests: number;
  /** Requests kept in flight on one connection in the throughput probes. */
  concurrentClients: number;
  /** Answers per second with that many in flight: the single server, the replicated commit. */
  singlePerSecond: number;
  replicatedPerSecond: number;
  /**
   * CPU time per answer in those windows, in microseconds, or null off Linux: what bare Node
   * processes spend. The single server's; the leader's plus its busier follower's (as the bench
   * counts dlock's leader and one follower).
   */
  singleCpuUsPerAnswer: number | null;
  replicatedCpuUsPerAnswer: number | null;
  /**
   * The same over the measured serial round trips: one request at a time batches nothing, so
   * every answer pays its wake-ups, syscalls and fsync alone (dlock's serial cycle does, twice).
   */
  singleSerialCpuUsPerAnswer: number | null;
  replicatedSerialCpuUsPerAnswer: number | null;
}

export interface CommitFloorOptions {
  /** Serial requests measured (after as many to warm up); default 1,000. */
  requests?: number;
  /** Requests in flight at once in the throughput probes; default 32 (the bench's clients). */
  concurrentClients?: number;
  /** Measured window of each throughput probe, after a warm-up of half as long; default 2 s. */
  concurrentMs?: number;
}

const PEER_SCRIPT = builtBenchScript("floor-peer.js");
const FLOOR_DEFAULTS = { requests: 1_000, concurrentClients: 32, concurrentMs: 2_000 } as const;
/** The followers' names (and log files, floor-NAME.log): a three-node group's two. */
export const FOLLOWER_NAMES = ["follower-1", "follower-2"] as const;
/** A request's payload: about an acquire's log entry. */
export const FLOOR_PAYLOAD_BYTES = 120;

function startPeer(
  role: string,
  dir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  return startBareProcess(PEER_SCRIPT, [role, dir, ...extra], `commit floor: the ${role} process`);
}

function requestFrame(): Buffer {
  const frame = Buffer.alloc(4 + FLOOR_PAYLOAD_BYTES, 7);
  frame.writeUInt32BE(FLOOR_PAYLOAD_BYTES, 0);
  return frame;
}

async function connectTo(port: number): Promise<Socket> {
  const socket: Socket = connect({ port, host: "127.0.0.1", noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return socket;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Serial round trips to the server at `port`: `requests` measured after as many to warm up. */
async function roundTrips(
  port: number,
  requests: number,
  servers: readonly ChildProcess[],
): Promise<{ durations: number[]; cpuMsByServer: number[] | null }> {
  const socket = await connectTo(port);
  const frame = requestFrame();
  let answered: (() => void) | null = null;
  onFrames(socket, () => answered?.());
  const durations: number[] = [];
  let cpuBefore: number[] | null = null;
  for (let i = 0; i < 2 * requests; i++) {
    if (i === requests) cpuBefore = serversCpuMs(servers);
    const startedAt = performance.now();
    await new Promise<void>((resolve) => {
      answered = resolve;
      socket.write(frame);
    });
    if (i >= requests) durations.push(performance.now() - startedAt);
  }
  const cpuAfter = serversCpuMs(servers);
  socket.destroy();
  return { durations, cpuMsByServer: cpuUsed(cpuBefore, cpuAfter) };
}

/** Each server's CPU time so far, or null if one cannot be read (off Linux). */
function serversCpuMs(servers: readonly ChildProcess[]): number[] | null {
  const used: number[] = [];
  for (const child of servers) {
    const ms = child.pid === undefined ? null : processCpuMs(child.pid);
    if (ms === null) return null;
    used.push(ms);
  }
  return used;
}

function cpuUsed(before: number[] | null, after: number[] | null): number[] | null {
  return before === null || after === null ? null : after.map((ms, i) => ms - before[i]!);
}

/** The leader's CPU plus its busier follower's (as the bench counts dlock's leader and one follower). */
function leaderAndBusierFollower(cpuMsByServer: number[] | null): number | null {
  return cpuMsByServer === null ? null : cpuMsByServer[0]! + Math.max(...cpuMsByServer.slice(1));
}

/** /proc counts CPU time in 10 ms ticks: under two ticks in a window says nothing per answer. */
const CPU_MS_READABLE_MIN = 20;

/**
 * CPU microseconds per answer from `cpuMs` used while `answers` were answered, or null when the
 * CPU time could not be read or is too small for /proc's resolution.
 */
export function cpuUsPerAnswer(cpuMs: number | null, answers: number): number | null {
  if (cpuMs === null || answers === 0 || cpuMs < CPU_MS_READABLE_MIN) return null;
  return (cpuMs * 1000) / answers;
}

/**
 * Answers per second from the server at `port` with `clients` requests always in flight on one
 * connection: each answer sends the next request, those of one turn in one write.
 */
async function answersPerSecond(
  port: number,
  clients: number,
  windowMs: number,
  servers: readonly ChildProcess[],
): Promise<{ perSecond: number; answers: number; cpuMsByServer: number[] | null }> {
  const socket = await connectTo(port);
  const frame = requestFrame();
  let counting = false;
  let counted = 0;
  let owed = 0;
  let stopped = false;
  const sendOwed = () => {
    if (!stopped) socket.write(Buffer.concat(Array.from({ length: owed }, () => frame)));
    owed = 0;
  };
  onFrames(socket, () => {
    if (counting) counted++;
    if (owed++ === 0) setImmediate(sendOwed);
  });
  owed = clients;
  sendOwed();
  await sleep(windowMs / 2);
  const cpuBefore = serversCpuMs(servers);
  counting = true;
  const startedAt = performance.now();
  await sleep(windowMs);
  counting = false;
  const elapsedMs = performance.now() - startedAt;
  const cpuAfter = serversCpuMs(servers);
  stopped = true;
  socket.destroy();
  return {
    perSecond: (counted * 1000) / elapsedMs,
    answers: counted,
    cpuMsByServer: cpuUsed(cpuBefore, cpuAfter),
  };
}

/** Ends the processes last started first (a leader before its followers) and waits for each. */
async function stop(children: ChildProcess[]): Promise<void> {
  for (const child of children.reverse()) await stopBareProcess(child);
}

/** Measures the commit floor with bare processes writing in `dir` (a folder on the cluster's disk). */
export async function measureCommitFloor(
  dir: string,
  options: CommitFloorOptions = {},
): Promise<CommitFloor> {
  const { requests, concurrentClients, concurrentMs } = { ...FLOOR_DEFAULTS, ...options };
  const children: ChildProcess[] = [];
  try {
    const single = await startPeer("single", dir);
    children.push(single.child);
    const singleSerial = await roundTrips(single.port, requests, [single.child]);
    const singleRun = await answersPerSecond(single.port, concurrentClients, concurrentMs, [
      single.child,
    ]);
    await stop(children.splice(0));
    const followers = [];
    for (const name of FOLLOWER_NAMES) {
      const follower = await startPeer("follower", dir, [name]);
      children.push(follower.child);
      followers.push(follower);
    }
    const leader = await startPeer(
      "leader",
      dir,
      followers.map((f) => String(f.port)),
    );
    children.push(leader.child);
    const group = [leader.child, ...followers.map((f) => f.child)];
    const replicatedSerial = await roundTrips(leader.port, requests, group);
    const replicatedRun = await answersPerSecond(
      leader.port,
      concurrentClients,
      concurrentMs,
      group,
    );
    const singleMs = summarize(singleSerial.durations)!;
    const replicatedMs = summarize(replicatedSerial.durations)!;
    return {
      singleMs,
      replicatedMs,
      ratioP50: replicatedMs.p50 / singleMs.p50,
      requests,
      concurrentClients,
      singlePerSecond: singleRun.perSecond,
      replicatedPerSecond: replicatedRun.perSecond,
      singleCpuUsPerAnswer: cpuUsPerAnswer(singleRun.cpuMsByServer?.[0] ?? null, singleRun.answers),
      replicatedCpuUsPerAnswer: cpuUsPerAnswer(
        leaderAndBusierFollower(replicatedRun.cpuMsByServer),
        replicatedRun.answers,
      ),
      singleSerialCpuUsPerAnswer: cpuUsPerAnswer(singleSerial.cpuMsByServer?.[0] ?? null, requests),
      replicatedSerialCpuUsPerAnswer: cpuUsPerAnswer(
        leaderAndBusierFollower(replicatedSerial.cpuMsByServer),
        requests,
      ),
    };
  } finally {
    await stop(children);
  }
}

export function formatCommitFloor(floor: CommitFloor): string {
  return (
    `commit floor (bare processes that only write + fdatasync, same disk and loopback):\n` +
    `  serial round trip p50: one fsync-always server ${floor.singleMs.p50.toFixed(3)} ms, ` +
    `a replicated commit of three (leader fsync ∥ two followers' round trip + fsync, answered at the first) ` +
    `${floor.replicatedMs.p50.toFixed(3)} ms ` +
    `(x${floor.ratioP50.toFixed(2)})` +
    (floor.singleSerialCpuUsPerAnswer === null || floor.replicatedSerialCpuUsPerAnswer === null
      ? ""
      : `; server CPU per answer ${floor.singleSerialCpuUsPerAnswer.toFixed(0)} µs, ` +
        `replicated ${floor.replicatedSerialCpuUsPerAnswer.toFixed(0)} µs (leader + busier follower)`) +
    `\n` +
    `  ${floor.concurrentClients} requests in flight on one connection: ${perSecondText(floor.singlePerSecond)}/s, ` +
    `replicated ${perSecondText(floor.replicatedPerSecond)}/s ` +
    `(x${(floor.replicatedPerSecond / floor.singlePerSecond).toFixed(2)})` +
    (floor.singleCpuUsPerAnswer === null || floor.replicatedCpuUsPerAnswer === null
      ? ""
      : `; server CPU per answer ${floor.singleCpuUsPerAnswer.toFixed(1)} µs, ` +
        `replicated ${floor.replicatedCpuUsPerAnswer.toFixed(1)} µs (leader + busier follower)`)
  );
}
