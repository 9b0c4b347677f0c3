import { describe, expect, it } from "vitest";
import type { Belief } from "@dlock/testkit";
import {
  checkElections,
  checkFencing,
  checkMutualExclusion,
  checkReaderWriters,
  checkSemaphores,
} from "../src/checks.js";
import { History } from "../src/history.js";
import { lockKeyRequests } from "../src/linearizability-check.js";
import { campaigners, observers } from "../src/election-clients.js";
import { lockClients } from "../src/lock-clients.js";
import { semaphoreClients } from "../src/semaphore-clients.js";
import { rwClients } from "../src/rw-clients.js";
import { clientsPerKind, DEFAULT_CHAOS_CLIENTS, DEFAULT_CLIENT_MIX } from "../src/workload.js";
import { ChaosInputError } from "../src/recheck.js";

const ELECTION = "election/chaos";

/** A grant of `key` believed from `fromMs` to `toMs` after the start of the run. */
function held(
  history: History,
  client: string,
  key: string,
  token: number,
  fromMs: number,
  toMs: number,
  permit?: { permits: number; count: number },
  rw?: "read" | "write",
): Belief {
  const belief = history.beginBelief(client, key, `${client}-${token}`, token, permit, rw);
  belief.startMs = history.startMs + fromMs;
  belief.extensions[0].atMs = belief.startMs;
  history.endBelief(belief, "released", history.startMs + toMs);
  return belief;
}

/** An observer of the election that reported `tokens` (null: nobody leads; values hidden). */
function observed(history: History, ...tokens: (number | null)[]): void {
  const observation = history.beginObservation("observe1", ELECTION);
  for (const [i, token] of tokens.entries()) {
    observation.reports.push({
      atMs: history.startMs + i,
      leader: token === null ? null : { value: null, token },
    });
  }
}

describe("chaos checks of every primitive", () => {
  it("keep locks, permits, rw holds and leaderships apart: each check sees its own grants only", () => {
    const h = new History();
    // Overlapping permits and leaderships are not lock overlaps, and vice versa.
    held(h, "s1", "sem-1", 4, 0, 100, { permits: 2, count: 1 });
    held(h, "s2", "sem-1", 5, 50, 150, { permits: 2, count: 1 });
    held(h, "c1", ELECTION, 2, 0, 100);
    held(h, "c2", ELECTION, 3, 100, 200);
    held(h, "l1", "key-1", 7, 0, 100);
    // Readers overlap by design, and share a token when granted together.
    held(h, "r1", "rw-1", 9, 0, 100, undefined, "read");
    held(h, "r2", "rw-1", 9, 20, 120, undefined, "read");
    held(h, "w1", "rw-1", 12, 120, 200, undefined, "write");
    observed(h, null, 2, null, 3);
    const endMs = h.startMs + 300;
    expect(checkMutualExclusion(h, endMs)).toMatchObject({ violations: [], examined: 1 });
    expect(checkFencing(h).violations).toEqual([]);
    expect(checkSemaphores(h, endMs)).toMatchObject({ violations: [], examined: 2 });
    expect(checkReaderWriters(h, endMs)).toMatchObject({ violations: [], examined: 3 });
    expect(checkElections(h, endMs)).toMatchObject({ violations: [], examined: 6 });
  });

  it("flag more permits held at once than the semaphore has", () => {
    const h = new History();
    held(h, "s1", "sem-1", 4, 0, 100, { permits: 2, count: 1 });
    held(h, "s2", "sem-1", 5, 50, 150, { permits: 2, count: 2 });
    const result = checkSemaphores(h, h.startMs + 300);
    expect(result.violations).toEqual([expect.stringMatching(/3 of 2 permits believed held/)]);
  });

  it("flag a writer that overlaps a reader", () => {
    const h = new History();
    held(h, "r1", "rw-1", 4, 0, 100, undefined, "read");
    held(h, "w1", "rw-1", 5, 50, 150, undefined, "write");
    const result = checkReaderWriters(h, h.startMs + 300);
    expect(result.violations).toEqual([expect.stringMatching(/both believed held/)]);
  });

  it("flag two leaders at once, and an observer that repeats or skips a leader", () => {
    const h = new History();
    held(h, "c1", ELECTION, 2, 0, 150);
    held(h, "c2", ELECTION, 3, 100, 200);
    held(h, "c3", ELECTION, 4, 200, 300);
    observed(h, 2, 2);
    observed(h, 2, null, 4);
    const violations = checkElections(h, h.startMs + 400).violations;
    expect(violations).toEqual([
      expect.stringMatching(/c1 \(token 2\) and c2 \(token 3\) both led/),
      expect.stringMatching(/reported token 2 .* after token 2/),
      expect.stringMatching(/went from token 2 to 4 .* missing the leadership of token 3/),
    ]);
  });

  it("check linearizability on plain lock keys only", () => {
    const op = (key: string, request: object) => ({
      id: 0,
      client: "x",
      key,
      request: { id: 1, key, ...request } as never,
      invokeMs: 0,
      returnMs: null,
      response: null,
    });
    const wire = [
      op("key-1", { type: "acquire", value: "a", ttlMs: 500 }),
      op("sem-1", { type: "acquire", value: "a", ttlMs: 500, permits: 2, count: 1 }),
      op("sem-1", { type: "release", value: "a", token: 3 }),
      op("rw-1", { type: "rwAcquire", value: "a", ttlMs: 500, mode: "read" }),
      op(ELECTION, { type: "acquire", value: "a", ttlMs: 500, waitMs: 100 }),
    ];
    expect(lockKeyRequests(wire).map((request) => request.key)).toEqual(["key-1"]);
  });

  it("split the clients over every kind, each at least once, by share", () => {
    expect(DEFAULT_CLIENT_MIX.map((entry) => entry.kind)).toEqual([
      lockClients,
      semaphoreClients,
      rwClients,
      campaigners,
      observers,
    ]);
    expect(clientsPerKind(DEFAULT_CLIENT_MIX, DEFAULT_CHAOS_CLIENTS)).toEqual([5, 2, 2, 3, 2]);
    expect(clientsPerKind(DEFAULT_CLIENT_MIX, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(clientsPerKind(DEFAULT_CLIENT_MIX, 28).reduce((a, b) => a + b)).toBe(28);
    expect(() => clientsPerKind(DEFAULT_CLIENT_MIX, 4)).toThrow(ChaosInputError);
  });
});
