// What `dlock list` prints for people: a lock's holder, a semaphore's permits and holders, a
// reader-writer key's mode and holders, with values an auth file hides shown as hidden.
import { describe, expect, it } from "vitest";
import type { ListResult } from "@dlock/client";
import { listText } from "../src/watch-output.js";

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
