import { describe, expect, it } from "vitest";
import {
  InvalidArgumentError,
  MalformedFrameError,
  WatchRevisionCompactedError,
  errorFromWire,
  parseClientRequest,
  parseResult,
} from "../src/index.js";

describe("watch and list messages", () => {
  it("parses well-formed requests, keeping only the fields given", () => {
    expect(parseClientRequest({ type: "watch", id: 1, key: "", prefix: true })).toEqual({
      type: "watch",
      id: 1,
      key: "",
      prefix: true,
    });
    expect(
      parseClientRequest({
        type: "watch",
        id: 2,
        key: "k",
        fromRevision: 7,
        waitMs: 0,
        eventsMax: 3,
      }),
    ).toEqual({ type: "watch", id: 2, key: "k", fromRevision: 7, waitMs: 0, eventsMax: 3 });
    expect(
      parseClientRequest({ type: "list", id: 3, prefix: "a/", after: "a/1", limit: 5 }),
    ).toEqual({ type: "list", id: 3, prefix: "a/", after: "a/1", limit: 5 });
  });

  it.each([
    [{ type: "watch", id: 1, key: "" }, "key"],
    [{ type: "watch", id: 1, key: "k", prefix: "yes" }, "prefix"],
    [{ type: "watch", id: 1, key: "k", fromRevision: 0 }, "fromRevision"],
    [{ type: "watch", id: 1, key: "k", fromRevision: 1.5 }, "fromRevision"],
    [{ type: "watch", id: 1, key: "k", waitMs: 60_001 }, "waitMs"],
    [{ type: "watch", id: 1, key: "k", eventsMax: 1001 }, "eventsMax"],
    [{ type: "list", id: 1, prefix: 5 }, "prefix"],
    [{ type: "list", id: 1, prefix: "", limit: 0 }, "limit"],
    [{ type: "list", id: 1, prefix: "", after: "" }, "after"],
    [{ type: "list", id: 1, prefix: "x".repeat(513) }, "prefix"],
  ])("refuses %o naming %s", (body, field) => {
    expect(() => parseClientRequest(body)).toThrow(InvalidArgumentError);
    try {
      parseClientRequest(body);
    } catch (error) {
      expect((error as InvalidArgumentError).field).toBe(field);
    }
  });

  it("checks results and rebuilds the compacted error", () => {
    expect(() => parseResult("watch", { events: [{ revision: 1 }], revision: 1 })).toThrow(
      MalformedFrameError,
    );
    expect(() => parseResult("list", { locks: [], revision: -1, more: false })).toThrow(
      MalformedFrameError,
    );
    const error = errorFromWire(new WatchRevisionCompactedError(9).toWire());
    expect(error).toBeInstanceOf(WatchRevisionCompactedError);
    expect((error as WatchRevisionCompactedError).oldestRevision).toBe(9);
  });

  it("reads an event's mode, permits and count when well-formed, and events without them", () => {
    const base = { revision: 3, type: "granted", key: "k", value: "v", token: 3 };
    const events = (...list: unknown[]) => ({ events: list, revision: 3 });
    expect(parseResult("watch", events(base))).toEqual(events(base));
    expect(parseResult("watch", events({ ...base, mode: "write" }))).toEqual(
      events({ ...base, mode: "write" }),
    );
    expect(parseResult("watch", events({ ...base, permits: 3, count: 2 }))).toEqual(
      events({ ...base, permits: 3, count: 2 }),
    );
    // Malformed additions are dropped like unknown fields (the event itself is well-formed).
    for (const odd of [
      { mode: "upgrade" },
      { permits: 3 },
      { permits: 2, count: 3 },
      { permits: -1, count: 0 },
      { permits: "3", count: 1 },
    ]) {
      expect(parseResult("watch", events({ ...base, ...odd }))).toEqual(events(base));
    }
  });

  it("reads a listed semaphore's and reader-writer key's holders, refusing malformed ones", () => {
    const lock = { key: "k", value: null, fencingToken: 4, waiters: [], inLockDelay: false };
    const semaphore = {
      permits: 3,
      held: 2,
      holders: [{ value: null, fencingToken: 4, count: 2, ttlRemainingMs: null }],
    };
    const rw = {
      mode: "read",
      holders: [{ value: "r", fencingToken: 4, mode: "read", ttlRemainingMs: null }],
    };
    const page = (locks: unknown[]) => ({ locks, revision: 5, more: false });
    expect(parseResult("list", page([lock, { ...lock, semaphore }, { ...lock, rw }]))).toEqual(
      page([lock, { ...lock, semaphore }, { ...lock, rw }]),
    );
    for (const broken of [
      { ...lock, semaphore: { ...semaphore, permits: -1 } },
      { ...lock, semaphore: { ...semaphore, holders: [{ value: 1, fencingToken: 4, count: 1 }] } },
      { ...lock, rw: { ...rw, mode: "both" } },
      { ...lock, rw: { ...rw, holders: [{ ...rw.holders[0], mode: "x" }] } },
    ]) {
      expect(() => parseResult("list", page([broken]))).toThrow(/malformed list result/);
    }
  });
});
