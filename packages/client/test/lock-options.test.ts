import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_INTERVAL_MS,
  DEFAULT_TTL_MS,
  lockConfigFromJSON,
  resolveLockOptions,
  withRefreshInterval,
  withRetryInterval,
  withRetryJitter,
  withRetryLimit,
  withSignal,
  withTTL,
  withWait,
} from "../src/index.js";
import { mergeLockOptions } from "../src/lock-options.js";
import { fieldOf } from "./support/field-of.js";

const validity = { driftFactor: 0.01, marginMs: 5 };

describe("lock options", () => {
  it("fills the defaults of docs/design.md §1", () => {
    expect(resolveLockOptions({}, validity)).toEqual({
      ttlMs: DEFAULT_TTL_MS,
      refreshIntervalMs: 10_000,
      retryIntervalMs: DEFAULT_RETRY_INTERVAL_MS,
      retryJitterMs: 62, // a quarter of the retry interval, whole milliseconds
      retryLimit: 0,
      waitMs: 0,
      signal: null,
    });
    expect(DEFAULT_TTL_MS).toBe(30_000);
    expect(DEFAULT_RETRY_INTERVAL_MS).toBe(250);
    // The default jitter follows the retry interval; 0 turns it off.
    expect(resolveLockOptions({ retryInterval: "1s" }, validity).retryJitterMs).toBe(250);
    expect(resolveLockOptions({ retryJitter: 0 }, validity).retryJitterMs).toBe(0);
    // The default refresh interval follows the ttl.
    expect(resolveLockOptions({ ttl: "3s" }, validity).refreshIntervalMs).toBe(1_000);
  });

  it("takes option functions and objects together, later ones winning", () => {
    const signal = new AbortController().signal;
    const merged = mergeLockOptions([
      { ttl: "1m", retryLimit: 9 },
      withTTL(60_000),
      withRefreshInterval("5s"),
      withRetryInterval("500ms"),
      withRetryJitter("40ms"),
      withRetryLimit(3),
      withWait("2s"),
      withSignal(signal),
    ]);
    expect(resolveLockOptions(merged, validity)).toEqual({
      ttlMs: 60_000,
      refreshIntervalMs: 5_000,
      retryIntervalMs: 500,
      retryJitterMs: 40,
      retryLimit: 3,
      waitMs: 2_000,
      signal,
    });
  });

  it("names the bad option", () => {
    expect(fieldOf(() => resolveLockOptions({ ttl: 0 }, validity))).toBe("ttl");
    expect(fieldOf(() => resolveLockOptions({ ttl: "2 minutes" }, validity))).toBe("ttl");
    expect(fieldOf(() => resolveLockOptions({ ttl: 5 }, validity))).toBe("ttl"); // nothing left after margin
    expect(fieldOf(() => resolveLockOptions({ ttl: "1s", refreshInterval: "1s" }, validity))).toBe(
      "refreshInterval",
    );
    expect(fieldOf(() => resolveLockOptions({ retryInterval: -5 }, validity))).toBe(
      "retryInterval",
    );
    expect(fieldOf(() => resolveLockOptions({ retryLimit: 1.5 }, validity))).toBe("retryLimit");
    expect(fieldOf(() => resolveLockOptions({ retryLimit: 10_000_000 }, validity))).toBe(
      "retryLimit",
    );
    expect(fieldOf(() => resolveLockOptions({ wait: "soon" }, validity))).toBe("wait");
    expect(
      fieldOf(() => resolveLockOptions({ signal: {} as unknown as AbortSignal }, validity)),
    ).toBe("signal");
    expect(fieldOf(() => mergeLockOptions([3 as unknown as object]))).toBe("options[0]");
  });

  it("allows refreshInterval 0 (no auto-refresh)", () => {
    expect(resolveLockOptions({ refreshInterval: 0 }, validity).refreshIntervalMs).toBe(0);
  });
});

describe("lockConfigFromJSON", () => {
  it("reads the original snake_case fields with Go duration strings", () => {
    const options = lockConfigFromJSON({
      ttl: "1m",
      refresh_interval: "20s",
      retry_interval: "250ms",
      retry_limit: 3,
    });
    expect(resolveLockOptions(options, validity)).toMatchObject({
      ttlMs: 60_000,
      refreshIntervalMs: 20_000,
      retryIntervalMs: 250,
      retryLimit: 3,
    });
  });

  it("reads numbers as nanoseconds, as Go's encoding/json writes a time.Duration", () => {
    const text = JSON.stringify({
      ttl: 60_000_000_000,
      refresh_interval: 0,
      retry_interval: 1_500_000,
    });
    expect(resolveLockOptions(lockConfigFromJSON(text), validity)).toMatchObject({
      ttlMs: 60_000,
      refreshIntervalMs: 0,
      retryIntervalMs: 2, // 1.5 ms rounds up: a non-zero interval stays non-zero
    });
  });

  it("keeps defaults for absent fields and accepts the wait extension", () => {
    expect(lockConfigFromJSON({})).toEqual({});
    expect(lockConfigFromJSON({ wait: "30s" })).toEqual({ wait: 30_000 });
  });

  it("refuses unknown fields, wrong types and bad JSON, naming the field", () => {
    expect(fieldOf(() => lockConfigFromJSON({ ttl: "1m", retryLimit: 3 }))).toBe("retryLimit");
    expect(fieldOf(() => lockConfigFromJSON({ ttl: true }))).toBe("ttl");
    expect(fieldOf(() => lockConfigFromJSON({ ttl: -1 }))).toBe("ttl");
    expect(fieldOf(() => lockConfigFromJSON({ refresh_interval: "x" }))).toBe("refresh_interval");
    expect(fieldOf(() => lockConfigFromJSON({ retry_limit: "3" }))).toBe("retry_limit");
    expect(fieldOf(() => lockConfigFromJSON("{not json"))).toBe("config");
    expect(fieldOf(() => lockConfigFromJSON([1]))).toBe("config");
  });
});
