import { describe, expect, it } from "vitest";
import {
  InvalidArgumentError,
  KEY_BYTES_MAX,
  VALUE_BYTES_MAX,
  validateDurationMs,
  validateKey,
  validateToken,
  validateValue,
} from "../src/index.js";

describe("limits", () => {
  it("accepts keys and values up to their byte limits", () => {
    expect(validateKey("k".repeat(KEY_BYTES_MAX))).toHaveLength(KEY_BYTES_MAX);
    expect(validateValue("v".repeat(VALUE_BYTES_MAX))).toHaveLength(VALUE_BYTES_MAX);
  });

  it("counts UTF-8 bytes, not characters", () => {
    // "é" is 2 bytes in UTF-8: half the limit in characters is exactly the limit in bytes.
    expect(() => validateKey("é".repeat(KEY_BYTES_MAX / 2))).not.toThrow();
    expect(() => validateKey("é".repeat(KEY_BYTES_MAX / 2 + 1))).toThrow(InvalidArgumentError);
    expect(() => validateValue("😀".repeat(VALUE_BYTES_MAX / 4 + 1))).toThrow(/value/);
  });

  it("rejects empty, oversize and non-string keys and values, naming the field", () => {
    expect(() => validateKey("")).toThrow(/^key: /);
    expect(() => validateKey("k".repeat(KEY_BYTES_MAX + 1))).toThrow(/^key: .*513 bytes/);
    expect(() => validateKey(42)).toThrow(InvalidArgumentError);
    expect(() => validateValue("")).toThrow(/^value: /);
    expect(() => validateValue(undefined)).toThrow(InvalidArgumentError);
    try {
      validateValue("v".repeat(VALUE_BYTES_MAX + 1));
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidArgumentError).field).toBe("value");
      expect((error as InvalidArgumentError).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("checks durations and tokens", () => {
    expect(validateDurationMs(5, "ttlMs", 1)).toBe(5);
    expect(() => validateDurationMs(0, "ttlMs", 1)).toThrow(/ttlMs/);
    expect(() => validateDurationMs(1.5, "ttlMs")).toThrow(InvalidArgumentError);
    expect(() => validateDurationMs("5", "ttlMs")).toThrow(InvalidArgumentError);
    expect(validateToken(9)).toBe(9);
    expect(() => validateToken(0)).toThrow(InvalidArgumentError);
    expect(() => validateToken(2 ** 60)).toThrow(InvalidArgumentError);
  });
});
