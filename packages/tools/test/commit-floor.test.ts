import { mkdtemp, readFile, rm } from "node:fs/promises";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  FLOOR_PAYLOAD_BYTES,
  FOLLOWER_NAMES,
  cpuUsPerAnswer,
  measureCommitFloor,
} from "../src/bench/commit-floor.js";
import { onFrames } from "../src/bench/floor-frames.js";

function frame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

describe("commit floor", () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it("gives CPU per answer only when /proc could count it", () => {
    expect(cpuUsPerAnswer(null, 100)).toBeNull();
    expect(cpuUsPerAnswer(40, 0)).toBeNull();
    // Under two 10 ms ticks: /proc may have counted 0 or 10 ms for the same work.
    expect(cpuUsPerAnswer(10, 100)).toBeNull();
    expect(cpuUsPerAnswer(40, 100)).toBe(400);
  });

  it("reads whole frames however the bytes arrive", () => {
    const socket = new EventEmitter();
    const seen: string[] = [];
    onFrames(socket as Socket, (f) => seen.push(f.subarray(4).toString()));
    const bytes = Buffer.concat([frame("one"), frame(""), frame("three")]);
    // Byte by byte through the first frame and into the second, then the rest at once.
    for (let at = 0; at < 12; at++) socket.emit("data", bytes.subarray(at, at + 1));
    expect(seen).toEqual(["one", ""]);
    socket.emit("data", bytes.subarray(12));
    expect(seen).toEqual(["one", "", "three"]);
  });

  it("makes every request durable on the single server, and on the leader and a follower", async () => {
    dir = await mkdtemp(join(tmpdir(), "dlock-floor-"));
    const requests = 20;
    const floor = await measureCommitFloor(dir, {
      requests,
      concurrentClients: 4,
      concurrentMs: 100,
    });
    expect(floor.requests).toBe(requests);
    expect(floor.singleMs.p50).toBeGreaterThan(0);
    expect(floor.replicatedMs.p50).toBeGreaterThan(0);
    expect(floor.singlePerSecond).toBeGreaterThan(0);
    expect(floor.replicatedPerSecond).toBeGreaterThan(0);
    // A 100 ms window may use less CPU than /proc can count: a figure or none, never zero.
    for (const cpu of [
      floor.singleCpuUsPerAnswer,
      floor.replicatedCpuUsPerAnswer,
      floor.singleSerialCpuUsPerAnswer,
      floor.replicatedSerialCpuUsPerAnswer,
    ]) {
      expect(cpu === null || cpu > 0).toBe(true);
    }
    // Every request answered was on disk first: the serial ones (warm-up too) and at least those
    // answered in the throughput window, each a 4-byte length and the payload. A follower stores
    // the leader's batches, each with a length of its own; a majority of three is the leader and
    // one follower (the other one may lag on a loaded machine).
    const answered = (perSecond: number) => 2 * requests + Math.floor((perSecond * 100) / 1000);
    const size = async (role: string) => (await readFile(join(dir!, `floor-${role}.log`))).length;
    expect(await size("single")).toBeGreaterThanOrEqual(
      answered(floor.singlePerSecond) * (4 + FLOOR_PAYLOAD_BYTES),
    );
    expect(await size("leader")).toBeGreaterThanOrEqual(
      answered(floor.replicatedPerSecond) * (4 + FLOOR_PAYLOAD_BYTES),
    );
    const followerSizes = await Promise.all(FOLLOWER_NAMES.map((name) => size(name)));
    expect(Math.max(...followerSizes)).toBeGreaterThanOrEqual(
      answered(floor.replicatedPerSecond) * (4 + FLOOR_PAYLOAD_BYTES),
    );
  });
});
