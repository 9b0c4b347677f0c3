import { describe, expect, it } from "vitest";
import type { Grant, StatusResult } from "@dlock/client";
import {
  acquireJson,
  acquireText,
  forceReleaseText,
  formatMs,
  getJson,
  getText,
  jsonLine,
  releaseJson,
  releaseText,
  statusJson,
  statusText,
} from "../src/output.js";

const grant: Grant = {
  key: "deploy",
  value: "ci-42",
  fencingToken: 17,
  ttlMs: 30_000,
  validUntilMs: 123,
  sentAtMs: 100,
  attempts: 2,
};

const status: StatusResult = {
  leader: "n2",
  term: 4,
  members: [
    {
      id: "n1",
      role: "follower",
      term: 4,
      commitIndex: 120,
      appliedIndex: 119,
      healthy: true,
      clientAddress: "127.0.0.1:7001",
    },
    {
      id: "n2",
      role: "leader",
      term: 4,
      commitIndex: 120,
      appliedIndex: 120,
      healthy: true,
      clientAddress: "127.0.0.1:7002",
    },
    { id: "n3", role: "unknown", term: 3, commitIndex: 90, appliedIndex: 90, healthy: false },
  ],
};

describe("acquire output", () => {
  it("JSON has exactly key, value, fencingToken and ttlMs", () => {
    expect(JSON.parse(jsonLine(acquireJson(grant)))).toStrictEqual({
      key: "deploy",
      value: "ci-42",
      fencingToken: 17,
      ttlMs: 30_000,
    });
  });

  it("text is the token alone, for TOKEN=$(dlock acquire ...)", () => {
    expect(acquireText(grant)).toBe("17\n");
  });
});

describe("release output", () => {
  it("JSON has exactly key, value and released", () => {
    expect(releaseJson("deploy", "ci-42", { released: false })).toStrictEqual({
      key: "deploy",
      value: "ci-42",
      released: false,
    });
  });

  it("text says released or not held, naming the token when one was given", () => {
    expect(releaseText(releaseJson("k", "v", { released: true }), undefined)).toBe(
      'released "k" (held by "v")\n',
    );
    expect(releaseText(releaseJson("k", "v", { released: false }), 9)).toBe(
      '"k" was not held by "v" with token 9: nothing changed\n',
    );
  });
});

describe("get output", () => {
  const FREE_LOCK = {
    held: false,
    value: null,
    fencingToken: null,
    ttlRemainingMs: null,
    waiters: 0,
  };

  it("JSON has exactly the six contract fields, nulls when free", () => {
    const free = getJson("k", FREE_LOCK);
    expect(JSON.parse(jsonLine(free))).toStrictEqual({
      key: "k",
      held: false,
      value: null,
      fencingToken: null,
      ttlRemainingMs: null,
      waiters: 0,
    });
  });

  it("text shows holder, token, ttl left and waiters", () => {
    const held = getJson("k", {
      held: true,
      value: "v",
      fencingToken: 5,
      ttlRemainingMs: 28_400,
      waiters: 2,
    });
    expect(getText(held)).toBe(
      [
        "key:       k",
        "held:      yes",
        "value:     v",
        "token:     5",
        "ttl left:  28.4s",
        "waiters:   2",
        "",
      ].join("\n"),
    );
  });

  it("text of a free lock has no holder lines", () => {
    const free = getJson("k", FREE_LOCK);
    expect(getText(free)).toBe("key:      k\nheld:     no\nwaiters:  0\n");
  });

  it("a semaphore's key shows its permits and each holder, in text and JSON", () => {
    const semaphore = {
      permits: 3,
      held: 3,
      holders: [
        { value: "w1", fencingToken: 34, count: 2, ttlRemainingMs: 300_000 },
        { value: null, fencingToken: 35, count: 1, ttlRemainingMs: 1_500 },
      ],
    };
    const result = {
      held: true,
      value: null,
      fencingToken: 35,
      ttlRemainingMs: 300_000,
      waiters: 1,
      semaphore,
    };
    const get = getJson("pool", result);
    expect(JSON.parse(jsonLine(get))).toStrictEqual({ key: "pool", ...result });
    expect(getText(get)).toBe(
      [
        "key:      pool",
        "held:     yes",
        "permits:  3 of 3 held",
        "holder:   w1: 2 permit(s), token 34, ttl left 5m",
        "holder:   (hidden: not your grant): 1 permit(s), token 35, ttl left 1.5s",
        "waiters:  1",
        "",
      ].join("\n"),
    );
  });

  it("a forced release of a semaphore says how many permits and which grants it freed", () => {
    const freed = { key: "pool", released: true, fencingToken: 35 };
    expect(
      forceReleaseText({ ...freed, semaphore: { permitsFreed: 3, fencingTokens: [34, 35] } }),
    ).toBe('force-released 3 permit(s) of "pool" (fencing token(s) 34, 35)\n');
    expect(
      forceReleaseText({
        key: "pool",
        released: false,
        fencingToken: null,
        semaphore: { permitsFreed: 0, fencingTokens: [] },
      }),
    ).toBe('"pool" had no holder (of that grant): nothing changed\n');
  });
});

describe("status output", () => {
  it("JSON keeps leader, term and every member field", () => {
    const json = JSON.parse(jsonLine(statusJson(status))) as StatusResult;
    expect(json.leader).toBe("n2");
    expect(json.term).toBe(4);
    expect(json.members).toStrictEqual(status.members);
  });

  it("text is a header and an aligned table", () => {
    expect(statusText(status)).toBe(
      [
        "leader: n2 (term 4)",
        "ID  ROLE      TERM  COMMIT  APPLIED  HEALTHY  CLIENT",
        "n1  follower  4     120     119      yes      127.0.0.1:7001",
        "n2  leader    4     120     120      yes      127.0.0.1:7002",
        "n3  unknown   3     90      90       no       -",
        "",
      ].join("\n"),
    );
  });

  it("says when there is no leader", () => {
    expect(statusText({ leader: null, term: 7, members: [] })).toMatch(
      /^no leader right now \(term 7\)\n/,
    );
  });
});

describe("formatMs", () => {
  it.each([
    [0, "0ms"],
    [850, "850ms"],
    [1_000, "1s"],
    [28_400, "28.4s"],
    [60_000, "1m"],
    [252_000, "4m12s"],
    [3_600_000, "1h"],
    [5_430_000, "1h30m30s"],
  ])("%d ms → %s", (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });
});
