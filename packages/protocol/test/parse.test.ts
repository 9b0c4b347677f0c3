import { describe, expect, it } from "vitest";
import {
  InvalidArgumentError,
  MalformedFrameError,
  parseClientRequest,
  parseClientResponse,
  parseRaftBatch,
  parseResult,
  peekRequestId,
} from "../src/index.js";

describe("parseClientRequest", () => {
  it("reads a semaphore acquire with its permits and optional count and wait", () => {
    const body = { type: "semaphoreAcquire", id: 4, key: "k", value: "v", ttlMs: 900 };
    expect(parseClientRequest({ ...body, requestId: "r", permits: 3 })).toEqual({
      ...body,
      requestId: "r",
      permits: 3,
    });
    expect(
      parseClientRequest({ ...body, requestId: "r", permits: 3, count: 2, waitMs: 10 }),
    ).toEqual({ ...body, requestId: "r", permits: 3, count: 2, waitMs: 10 });
    expect(parseResult("semaphoreAcquire", { fencingToken: 7, ttlMs: 900 })).toEqual({
      fencingToken: 7,
      ttlMs: 900,
      waitedMs: 0,
    });
  });

  it("reads a reader-writer acquire with its mode and optional wait", () => {
    const body = { type: "rwAcquire", id: 4, key: "k", value: "v", ttlMs: 900, requestId: "r" };
    expect(parseClientRequest({ ...body, mode: "read" })).toEqual({ ...body, mode: "read" });
    expect(parseClientRequest({ ...body, mode: "write", waitMs: 10 })).toEqual({
      ...body,
      mode: "write",
      waitMs: 10,
    });
    expect(() => parseClientRequest({ ...body, mode: "upgrade" })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "mode" }),
    );
    expect(parseResult("rwAcquire", { fencingToken: 7, ttlMs: 900 })).toMatchObject({
      fencingToken: 7,
    });
  });

  it("accepts each request type and drops unknown fields", () => {
    expect(
      parseClientRequest({
        type: "acquire",
        id: 1,
        key: "k",
        value: "v",
        ttlMs: 1000,
        waitMs: 500,
        requestId: "c1-1",
        extra: "ignored",
      }),
    ).toEqual({
      type: "acquire",
      id: 1,
      key: "k",
      value: "v",
      ttlMs: 1000,
      waitMs: 500,
      requestId: "c1-1",
    });
    expect(
      parseClientRequest({ type: "refresh", id: 2, key: "k", value: "v", token: 9, ttlMs: 10 }),
    ).toEqual({ type: "refresh", id: 2, key: "k", value: "v", token: 9, ttlMs: 10 });
    expect(parseClientRequest({ type: "release", id: 3, key: "k", value: "v" })).toEqual({
      type: "release",
      id: 3,
      key: "k",
      value: "v",
    });
    expect(
      parseClientRequest({ type: "release", id: 3, key: "k", value: "v", token: 4 }),
    ).toHaveProperty("token", 4);
    expect(
      parseClientRequest({ type: "cancel", id: 4, key: "k", value: "v", requestId: "r" }),
    ).toEqual({
      type: "cancel",
      id: 4,
      key: "k",
      value: "v",
      requestId: "r",
    });
    expect(parseClientRequest({ type: "get", id: 5, key: "k" })).toEqual({
      type: "get",
      id: 5,
      key: "k",
    });
    expect(parseClientRequest({ type: "status", id: 6 })).toEqual({ type: "status", id: 6 });
  });

  it("calls a body without a usable id malformed", () => {
    for (const body of [
      null,
      3,
      "x",
      [],
      { type: "get", key: "k" },
      { type: "get", id: 0, key: "k" },
    ]) {
      expect(() => parseClientRequest(body)).toThrow(MalformedFrameError);
      expect(peekRequestId(body)).toBeNull();
    }
  });

  it("names the bad field when the id is usable, so the server can answer that request", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "acquire", id: 1, key: "", value: "v", ttlMs: 1, requestId: "r" }, "key"],
      [{ type: "acquire", id: 1, key: "k", value: 3, ttlMs: 1, requestId: "r" }, "value"],
      [{ type: "acquire", id: 1, key: "k", value: "v", ttlMs: 0, requestId: "r" }, "ttlMs"],
      [
        { type: "acquire", id: 1, key: "k", value: "v", ttlMs: 5, waitMs: -1, requestId: "r" },
        "waitMs",
      ],
      [{ type: "acquire", id: 1, key: "k", value: "v", ttlMs: 5 }, "requestId"],
      [{ type: "refresh", id: 1, key: "k", value: "v", token: "7", ttlMs: 5 }, "token"],
      [{ type: "get", id: 1, key: "k".repeat(600) }, "key"],
      [{ type: "explode", id: 1 }, "type"],
      [
        { type: "semaphoreAcquire", id: 1, key: "k", value: "v", ttlMs: 5, requestId: "r" },
        "permits",
      ],
      [
        {
          type: "semaphoreAcquire",
          ...{ id: 1, key: "k", value: "v", ttlMs: 5, requestId: "r", permits: 2, count: 0 },
        },
        "count",
      ],
    ];
    for (const [body, field] of cases) {
      expect(peekRequestId(body)).toBe(1);
      try {
        parseClientRequest(body);
        expect.unreachable();
      } catch (error) {
        expect(error, JSON.stringify(body)).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).field).toBe(field);
      }
    }
  });
});

describe("parseClientResponse and parseResult", () => {
  it("reads a semaphore's holders in get and what a forced release freed, refusing bad ones", () => {
    const holder = { value: "w1", fencingToken: 4, count: 2, ttlRemainingMs: 900 };
    const get = { held: true, value: null, fencingToken: 4, ttlRemainingMs: 900, waiters: 0 };
    const semaphore = { permits: 3, held: 2, holders: [holder] };
    expect(parseResult("get", { ...get, semaphore, junk: 1 })).toEqual({ ...get, semaphore });
    for (const bad of [
      { ...semaphore, holders: [{ ...holder, count: -1 }] },
      { ...semaphore, holders: [{ ...holder, value: 5 }] },
      { ...semaphore, holders: "w1" },
      { permits: "3", held: 2, holders: [] },
    ]) {
      expect(() => parseResult("get", { ...get, semaphore: bad })).toThrow(MalformedFrameError);
    }
    const freed = { permitsFreed: 2, fencingTokens: [4] };
    const force = { released: true, fencingToken: 4 };
    expect(parseResult("forceRelease", { ...force, semaphore: freed })).toEqual({
      ...force,
      semaphore: freed,
    });
    expect(() =>
      parseResult("forceRelease", { ...force, semaphore: { permitsFreed: 2, fencingTokens: [0] } }),
    ).toThrow(MalformedFrameError);
  });

  it("reads ok and error frames", () => {
    expect(parseClientResponse({ type: "ok", id: 3, result: { released: true } })).toEqual({
      type: "ok",
      id: 3,
      result: { released: true },
    });
    expect(
      parseClientResponse({ type: "error", id: null, error: { code: "X", message: "m" } }),
    ).toEqual({
      type: "error",
      id: null,
      error: { code: "X", message: "m" },
    });
    expect(() => parseClientResponse({ type: "ok", id: -1 })).toThrow(MalformedFrameError);
    expect(() => parseClientResponse({ type: "error", id: 1, error: "x" })).toThrow(
      MalformedFrameError,
    );
    expect(() => parseClientResponse({ type: "hello" })).toThrow(MalformedFrameError);
  });

  it("checks result shapes by request type", () => {
    expect(parseResult("acquire", { fencingToken: 12, ttlMs: 1000, waitedMs: 5 })).toEqual({
      fencingToken: 12,
      ttlMs: 1000,
      waitedMs: 5,
    });
    // waitedMs is optional for an immediate grant: absent means 0 (the conservative value).
    expect(parseResult("acquire", { fencingToken: 12, ttlMs: 1000 }).waitedMs).toBe(0);
    expect(() => parseResult("acquire", { fencingToken: 0, ttlMs: 1000 })).toThrow(
      MalformedFrameError,
    );
    expect(parseResult("refresh", { ttlMs: 5 })).toEqual({ ttlMs: 5 });
    expect(() => parseResult("release", { released: "yes" })).toThrow(MalformedFrameError);
    // A cancel that found its wait already granted names that grant, for the client to release.
    expect(parseResult("cancel", { cancelled: true })).toEqual({ cancelled: true });
    expect(parseResult("cancel", { cancelled: false, fencingToken: 9 })).toEqual({
      cancelled: false,
      fencingToken: 9,
    });
    expect(() => parseResult("cancel", { cancelled: false, fencingToken: 0 })).toThrow(
      MalformedFrameError,
    );
    expect(
      parseResult("get", {
        held: false,
        value: null,
        fencingToken: null,
        ttlRemainingMs: null,
        waiters: 0,
      }),
    ).toEqual({ held: false, value: null, fencingToken: null, ttlRemainingMs: null, waiters: 0 });
    const status = parseResult("status", {
      leader: "n1",
      term: 3,
      members: [
        { id: "n1", role: "leader", term: 3, commitIndex: 9, appliedIndex: 9, healthy: true },
      ],
    });
    expect(status.members[0].role).toBe("leader");
    expect(() => parseResult("status", { leader: "n1", term: 3, members: [{ id: 1 }] })).toThrow(
      MalformedFrameError,
    );
    expect(() => parseResult("get", null)).toThrow(MalformedFrameError);
  });

  it("reads the table limits of a status, refusing a missing or bad limit", () => {
    const base = { leader: null, term: 1, members: [] };
    const tableLimits = {
      keyBytesMax: 512,
      valueBytesMax: 256,
      ttlMsMin: 2500,
      ttlMsMax: 60_000,
      waitMsMax: 60_000,
      waitersPerKeyMax: 8,
      locksMax: 100,
      lockDelayMsMax: 0,
      semaphorePermitsMax: 4,
      replicated: true,
      configuredDiffers: false,
    };
    expect(parseResult("status", { ...base, tableLimits }).tableLimits).toEqual(tableLimits);
    expect(parseResult("status", base).tableLimits).toBeUndefined();
    for (const bad of [
      { ...tableLimits, locksMax: -1 },
      { ...tableLimits, replicated: "yes" },
      { ...tableLimits, semaphorePermitsMax: undefined },
    ])
      expect(() => parseResult("status", { ...base, tableLimits: bad })).toThrow(
        MalformedFrameError,
      );
  });

  it("reads forceRelease requests and results", () => {
    expect(parseClientRequest({ type: "forceRelease", id: 1, key: "k", junk: 1 })).toEqual({
      type: "forceRelease",
      id: 1,
      key: "k",
    });
    expect(parseClientRequest({ type: "forceRelease", id: 1, key: "k", token: 9 })).toEqual({
      type: "forceRelease",
      id: 1,
      key: "k",
      token: 9,
    });
    expect(() => parseClientRequest({ type: "forceRelease", id: 1, key: "" })).toThrow(
      InvalidArgumentError,
    );
    expect(() => parseClientRequest({ type: "forceRelease", id: 1, key: "k", token: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(parseResult("forceRelease", { released: true, fencingToken: 9 })).toEqual({
      released: true,
      fencingToken: 9,
    });
    expect(parseResult("forceRelease", { released: false, fencingToken: null })).toEqual({
      released: false,
      fencingToken: null,
    });
    for (const bad of [
      { released: true },
      { released: "yes", fencingToken: 1 },
      { released: true, fencingToken: 0 },
    ]) {
      expect(() => parseResult("forceRelease", bad)).toThrow(MalformedFrameError);
    }
  });

  it("rounds fractional durations in results down (the cautious side)", () => {
    expect(parseResult("acquire", { fencingToken: 3, ttlMs: 999.9, waitedMs: 10.7 })).toEqual({
      fencingToken: 3,
      ttlMs: 999,
      waitedMs: 10,
    });
    expect(parseResult("refresh", { ttlMs: 5.5 }).ttlMs).toBe(5);
    expect(
      parseResult("get", {
        held: true,
        value: "v",
        fencingToken: 3,
        ttlRemainingMs: 12.9,
        waiters: 0,
      }).ttlRemainingMs,
    ).toBe(12);
    expect(() => parseResult("refresh", { ttlMs: -1 })).toThrow(MalformedFrameError);
  });

  it("reads raft batches without looking inside the messages", () => {
    expect(parseRaftBatch({ type: "raft", messages: [{ anything: 1 }] }).messages).toHaveLength(1);
    expect(() => parseRaftBatch({ type: "raft", messages: "x" })).toThrow(MalformedFrameError);
  });
});
