import { describe, expect, it } from "vitest";
import { AUTH_TOKEN_BYTES_MAX } from "@dlock/protocol";
import {
  DEFAULT_DRIFT_FACTOR,
  DEFAULT_MARGIN_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  Locker,
} from "../src/index.js";
import { resolveLockerOptions, systemClock } from "../src/internal.js";
import { fieldOf } from "./support/field-of.js";

describe("locker options", () => {
  it("fills defaults", () => {
    const resolved = resolveLockerOptions({ endpoints: ["127.0.0.1:7001"] });
    expect(resolved.requestTimeoutMs).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    expect(resolved.driftFactor).toBe(DEFAULT_DRIFT_FACTOR);
    expect(resolved.marginMs).toBe(DEFAULT_MARGIN_MS);
    expect(resolved.clusterId).toBeNull();
    expect(resolved.clock).toBe(systemClock);
    expect(resolved.clientId).toMatch(/^c-[0-9a-z]{12}$/);
    expect(resolved.plantedBugs).toEqual({
      ignoreDrift: false,
      timerFromReply: false,
      observeFromListRevision: false,
      observeOneChangePerRevision: false,
    });
  });

  it("accepts IPv6 and host names", () => {
    expect(() =>
      resolveLockerOptions({ endpoints: ["[::1]:7001", "db-1.local:7001"] }),
    ).not.toThrow();
  });

  it("takes an auth token of 1 to AUTH_TOKEN_BYTES_MAX UTF-8 bytes and nothing else", () => {
    const endpoints = ["127.0.0.1:7001"];
    const longest = "x".repeat(AUTH_TOKEN_BYTES_MAX);
    expect(resolveLockerOptions({ endpoints, authToken: longest }).authToken).toBe(longest);
    expect(resolveLockerOptions({ endpoints }).authToken).toBeNull();
    for (const authToken of ["", 42, longest + "x", "é".repeat(AUTH_TOKEN_BYTES_MAX / 2 + 1)]) {
      expect(
        fieldOf(() => resolveLockerOptions({ endpoints, authToken: authToken as string })),
      ).toBe("authToken");
    }
  });

  it("names the bad option", () => {
    expect(fieldOf(() => new Locker({ endpoints: [] }))).toBe("endpoints");
    expect(fieldOf(() => new Locker({ endpoints: ["no-port"] }))).toBe("endpoints");
    expect(fieldOf(() => new Locker({ endpoints: ["h:99999"] }))).toBe("endpoints");
    const endpoints = ["127.0.0.1:7001"];
    expect(fieldOf(() => new Locker({ endpoints, requestTimeoutMs: 0 }))).toBe("requestTimeoutMs");
    expect(fieldOf(() => new Locker({ endpoints, connectTimeoutMs: 1.5 }))).toBe(
      "connectTimeoutMs",
    );
    expect(fieldOf(() => new Locker({ endpoints, driftFactor: 0.7 }))).toBe("driftFactor");
    expect(fieldOf(() => new Locker({ endpoints, marginMs: -1 }))).toBe("marginMs");
    expect(fieldOf(() => new Locker({ endpoints, clusterId: "" }))).toBe("clusterId");
    expect(
      fieldOf(() => new Locker({ endpoints, reconnectDelayMsMin: 100, reconnectDelayMsMax: 50 })),
    ).toBe("reconnectDelayMsMax");
    expect(fieldOf(() => new Locker({ endpoints, inFlightRequestsMax: 0 }))).toBe(
      "inFlightRequestsMax",
    );
  });
});
