import { describe, expect, it } from "vitest";
import { DURATION_MS_MAX, durationMsOption, integerOption, positiveInteger } from "../src/index.js";
import { configRefusal } from "./config-refusal.js";

describe("option checks", () => {
  it("positiveInteger takes whole numbers ≥ 1 and the fallback for undefined", () => {
    expect(positiveInteger(3, undefined, "connectionsMax")).toBe(3);
    expect(positiveInteger(undefined, 64, "connectionsMax")).toBe(64);
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, "3", null, undefined]) {
      const error = configRefusal(() => positiveInteger(bad, undefined, "connectionsMax"));
      expect(error.option, String(bad)).toBe("connectionsMax");
      expect(error.message).toMatch(/^connectionsMax: /);
    }
  });

  it("integerOption keeps to its range and says it", () => {
    expect(integerOption(0, undefined, "port", 0, 65_535)).toBe(0);
    expect(integerOption(undefined, 7201, "port", 0, 65_535)).toBe(7201);
    expect(configRefusal(() => integerOption(65_536, undefined, "port", 0, 65_535)).message).toBe(
      "port: 65536 is out of range [0, 65535]",
    );
  });

  it("durationMsOption keeps to [min, DURATION_MS_MAX]", () => {
    expect(durationMsOption(DURATION_MS_MAX, undefined, "ttlMsMax")).toBe(DURATION_MS_MAX);
    expect(durationMsOption(undefined, 60_000, "ttlMsMax")).toBe(60_000);
    expect(durationMsOption(0, undefined, "intervalMs", 0)).toBe(0);
    expect(configRefusal(() => durationMsOption(0, undefined, "ttlMsMin")).option).toBe("ttlMsMin");
    expect(
      configRefusal(() => durationMsOption(DURATION_MS_MAX + 1, undefined, "ttlMsMax")).option,
    ).toBe("ttlMsMax");
  });
});
