// What `dlock list` prints for people: a lock's holder, a semaphore's permits and holders, a
// reader-writer key's mode and holders, with values an auth file hides shown as hidden; and what
// `dlock watch` prints for an event of each kind of key.
import { describe, expect, it } from "vitest";
import type { ListResult, WatchEvent } from "@dlock/client";
import { listText, watchEventText } from "../src/watch-output.js";

const page: ListResult = {
  locks: [
    { key: "a", value: "x", fencingToken: 5, waiters: [], inLockDelay: false },
    { key: "b", value: null, fencingToken: null, waiters: ["w"], inLockDelay: true },
    {
      key: "pool",
      value: null,
      fencingToken: 9,
      waiters: [],
      inLockDelay: false,
      semaphore: {
        permits: 3,
        held: 3,
        holders: [
          { value: "p", fencingToken: 7, count: 2, ttlRemainingMs: null },
          { value: null, fencingToken: 9, count: 1, ttlRemainingMs: null },
        ],
      },
    },
    {
      key: "rw-r",
      value: null,
      fencingToken: 12,
      waiters: ["w2"],
      inLockDelay: false,
      rw: {
        mode: "read",
        holders: [
          { value: "r1", fencingToken: 11, mode: "read", ttlRemainingMs: null },
          { value: "r2", fencingToken: 12, mode: "read", ttlRemainingMs: null },
        ],
      },
    },
    {
      key: "rw-w",
      value: "w",
      fencingToken: 14,
      waiters: [],
      inLockDelay: false,
      rw: {
        mode: "write",
        holders: [{ value: "w", fencingToken: 14, mode: "write", ttlRemainingMs: null }],
      },
    },
  ],
  revision: 20,
  more: false,
};

describe("listText", () => {
  it("shows each kind of key with its holders", () => {
    expect(listText(page)).toBe(
      [
        "KEY   VALUE                           TOKEN  WAITERS",
        "a     x                               5      0",
        "b     (lock delay)                    -      1",
        "pool  semaphore 3/3: p×2, (hidden)×1  9      0",
        "rw-r  readers: r1, r2                 12     1",
        "rw-w  writer: w                       14     0",
        "revision 20",
        "",
      ].join("\n"),
    );
  });
});

describe("watchEventText", () => {
  const event = (fields: Partial<WatchEvent>): string =>
    watchEventText({ revision: 45, type: "granted", key: "k", value: "v", token: 45, ...fields });

  it("says a reader-writer event's mode and a semaphore event's share of its permits", () => {
    expect(event({})).toBe('45 granted "k" "v" token 45\n');
    expect(event({ mode: "write" })).toBe('45 granted "k" "v" write token 45\n');
    expect(event({ type: "queued", token: 0, mode: "read" })).toBe('45 queued "k" "v" read\n');
    expect(event({ permits: 3, count: 2 })).toBe('45 granted "k" "v" 2 of 3 permits token 45\n');
    expect(
      event({ type: "dequeued", token: 0, value: null, permits: 3, count: 1, reason: "cancelled" }),
    ).toBe('45 dequeued "k" 1 of 3 permits (cancelled)\n');
  });
});
