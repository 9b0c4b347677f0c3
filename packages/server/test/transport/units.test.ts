import { describe, expect, it } from "vitest";
import type { Message } from "@dlock/raft";
import { backoffDelayMs } from "../../src/transport/backoff.js";
import { LogOnce } from "../../src/transport/log-once.js";
import { validateRaftMessage } from "../../src/transport/raft-message-validation.js";
import { SendQueue } from "../../src/transport/send-queue.js";

const heartbeat = (term: number): Message => ({
  type: "heartbeat",
  from: "n1",
  to: "n2",
  term,
  commit: 0,
  readContext: 0,
});

describe("backoffDelayMs", () => {
  it("grows exponentially, stays within [ceiling/2, ceiling] and never exceeds the cap", () => {
    const options = { delayMsMin: 50, delayMsMax: 2_000 };
    expect(backoffDelayMs(0, options, () => 0)).toBe(25);
    expect(backoffDelayMs(0, options, () => 0.999999)).toBe(50);
    expect(backoffDelayMs(3, options, () => 0)).toBe(200);
    expect(backoffDelayMs(3, options, () => 0.999999)).toBe(400);
    for (const attempt of [6, 10, 40, 10_000]) {
      expect(backoffDelayMs(attempt, options, () => 0.999999)).toBe(2_000);
      expect(backoffDelayMs(attempt, options, () => 0)).toBe(1_000);
    }
  });
});

describe("SendQueue", () => {
  it("drops the oldest message when full and counts the drops", () => {
    const queue = new SendQueue(3);
    let dropped = 0;
    for (let term = 1; term <= 5; term++) dropped += queue.push(heartbeat(term));
    expect(dropped).toBe(2);
    expect(queue.droppedTotal).toBe(2);
    expect(queue.drain().map((message) => message.term)).toEqual([3, 4, 5]);
    expect(queue.length).toBe(0);
    queue.push(heartbeat(6));
    expect(queue.drain().map((message) => message.term)).toEqual([6]);
  });

  it("drops the oldest messages to stay within its byte cap, but always takes the newest", () => {
    const queue = new SendQueue(100, 10);
    expect(queue.push(heartbeat(1), 4) + queue.push(heartbeat(2), 4)).toBe(0);
    expect(queue.push(heartbeat(3), 4)).toBe(1);
    expect(queue.bytes).toBe(8);
    expect(queue.push(heartbeat(4), 25)).toBe(2);
    expect(queue.bytes).toBe(25);
    expect(queue.droppedTotal).toBe(3);
    expect(queue.drain().map((message) => message.term)).toEqual([4]);
    expect(queue.bytes).toBe(0);
  });
});

describe("LogOnce", () => {
  it("reports each subject and reason once until forgotten, with a bounded memory", () => {
    const once = new LogOnce(2);
    expect(once.first("n2", "ECONNREFUSED")).toBe(true);
    expect(once.first("n2", "ECONNREFUSED")).toBe(false);
    expect(once.first("n2", "HANDSHAKE_FAILED")).toBe(true);
    once.forget("n2");
    expect(once.first("n2", "ECONNREFUSED")).toBe(true);
    expect(once.first("n3", "a")).toBe(true);
    expect(once.first("n4", "a")).toBe(true);
    // Capacity 2: the oldest entry was evicted.
    expect(once.first("n2", "ECONNREFUSED")).toBe(true);
  });
});

describe("validateRaftMessage", () => {
  it("accepts every well-formed message type", () => {
    const base = { from: "n1", to: "n2", term: 2 };
    const metadata = { index: 5, term: 1, confState: { voters: ["n1", "n2"], learners: [] } };
    const messages = [
      { ...base, type: "vote", lastIndex: 1, lastTerm: 1, transfer: false },
      { ...base, type: "preVoteResp", granted: true },
      {
        ...base,
        type: "append",
        prevIndex: 1,
        prevTerm: 1,
        commit: 1,
        entries: [
          { index: 2, term: 2, kind: "normal", data: new Uint8Array([1]) },
          {
            index: 3,
            term: 2,
            kind: "config",
            data: new Uint8Array(),
            change: { type: "addLearner", nodeId: "n4" },
          },
        ],
      },
      { ...base, type: "appendResp", reject: true, index: 3, hintIndex: 2, hintTerm: 1 },
      { ...base, type: "heartbeat", commit: 3, readContext: 7 },
      { ...base, type: "heartbeat", commit: 3, readContext: 0, transferee: "n3" },
      { ...base, type: "heartbeatResp", readContext: 7 },
      {
        ...base,
        type: "snapshot",
        metadata,
        offset: 0,
        data: new Uint8Array(3),
        totalBytes: 3,
        done: true,
      },
      { ...base, type: "snapshotResp", snapshotIndex: 5, nextOffset: 3, done: true, reject: false },
      { ...base, type: "timeoutNow" },
    ];
    for (const message of messages) expect(validateRaftMessage(message)).toBe(message);
  });

  it("refuses wrong field types with MALFORMED_FRAME", () => {
    const cases: unknown[] = [
      null,
      [],
      { type: "heartbeat", from: "n1", to: "n2", term: "2", commit: 0, readContext: 0 },
      { type: "heartbeat", from: "", to: "n2", term: 2, commit: 0, readContext: 0 },
      { type: "heartbeat", from: "n1", to: "n2", term: -1, commit: 0, readContext: 0 },
      {
        type: "heartbeat",
        from: "n1",
        to: "n2",
        term: 1,
        commit: 0,
        readContext: 0,
        transferee: 3,
      },
      { type: "gossip", from: "n1", to: "n2", term: 1 },
      {
        type: "append",
        from: "n1",
        to: "n2",
        term: 1,
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: [{ index: 1, term: 1, kind: "normal", data: "text" }],
      },
      {
        type: "append",
        from: "n1",
        to: "n2",
        term: 1,
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: {},
      },
      {
        type: "snapshot",
        from: "n1",
        to: "n2",
        term: 1,
        metadata: { index: 1, term: 1, confState: { voters: [1], learners: [] } },
        offset: 0,
        data: new Uint8Array(),
        totalBytes: 0,
        done: true,
      },
      { type: "vote", from: "n1", to: "n2", term: 1, lastIndex: 1, lastTerm: 1, transfer: "yes" },
      // What no correct member sends: a candidate whose log is of a later term than its campaign,
      // and appends whose entries leave a gap, go back in term or are of a later term than it.
      { type: "vote", from: "n1", to: "n2", term: 3, lastIndex: 1, lastTerm: 4, transfer: false },
      ...[
        { prevIndex: 1, prevTerm: 4, entries: [] },
        { prevIndex: 1, prevTerm: 1, entries: [{ index: 3, term: 2 }] },
        {
          prevIndex: 1,
          prevTerm: 1,
          entries: [
            { index: 2, term: 2 },
            { index: 4, term: 2 },
          ],
        },
        { prevIndex: 1, prevTerm: 2, entries: [{ index: 2, term: 1 }] },
        { prevIndex: 1, prevTerm: 1, entries: [{ index: 2, term: 4 }] },
      ].map(({ entries, ...rest }) => ({
        type: "append",
        from: "n1",
        to: "n2",
        term: 3,
        commit: 0,
        ...rest,
        entries: entries.map((e) => ({ ...e, kind: "normal", data: new Uint8Array(1) })),
      })),
      // A snapshot chunk must fit in its snapshot, and a snapshot in the receiver's bound.
      ...[
        { offset: 2, data: new Uint8Array(2), totalBytes: 3 },
        { offset: 0, data: new Uint8Array(1), totalBytes: 3 * 1024 * 1024 * 1024 },
      ].map((chunk) => ({
        type: "snapshot",
        from: "n1",
        to: "n2",
        term: 1,
        metadata: { index: 1, term: 1, confState: { voters: ["n1"], learners: [] } },
        done: false,
        ...chunk,
      })),
    ];
    for (const value of cases) {
      expect(() => validateRaftMessage(value)).toThrowError(
        expect.objectContaining({ code: "MALFORMED_FRAME" }),
      );
    }
  });
});
