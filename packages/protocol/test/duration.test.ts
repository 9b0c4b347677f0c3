import { describe, expect, it } from "vitest";
import {
  DURATION_MS_MAX,
  InvalidArgumentError,
  formatDuration,
  parseDuration,
} from "../src/index.js";

describe("parseDuration", () => {
  it("takes whole milliseconds as numbers", () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(250)).toBe(250);
  });

  it("takes Go-style strings", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration(" 2s ")).toBe(2000);
    expect(parseDuration("1h2m3s4ms")).toBe(3_723_004);
  });

  it("rounds sub-millisecond amounts up so a non-zero duration never becomes 0", () => {
    expect(parseDuration("1us")).toBe(1);
    expect(parseDuration("1500000ns")).toBe(2);
    expect(parseDuration("2000000ns")).toBe(2);
  });

  it("rejects bad input with an InvalidArgumentError naming the field", () => {
    for (const bad of ["", "10", "ten seconds", "5 s", "-1s", "1d", "1s garbage", "s"]) {
      expect(() => parseDuration(bad, "ttl"), bad).toThrow(InvalidArgumentError);
    }
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, {}, null, true]) {
      expect(() => parseDuration(bad, "ttl"), String(bad)).toThrow(InvalidArgumentError);
    }
    try {
      parseDuration("soon", "retryInterval");
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidArgumentError).field).toBe("retryInterval");
      expect((error as InvalidArgumentError).message).toContain("retryInterval");
    }
  });

  it("refuses durations beyond what timers can hold", () => {
    expect(parseDuration(DURATION_MS_MAX)).toBe(DURATION_MS_MAX);
    expect(() => parseDuration(DURATION_MS_MAX + 1)).toThrow(InvalidArgumentError);
    expect(() => parseDuration("1000h")).toThrow(InvalidArgumentError);
    expect(() => parseDuration("1".repeat(500) + "s")).toThrow(InvalidArgumentError);
  });

  it("formats durations back", () => {
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(3_600_000)).toBe("1h");
    expect(formatDuration(0)).toBe("0s");
    expect(parseDuration(formatDuration(1500))).toBe(1500);
  });
});
