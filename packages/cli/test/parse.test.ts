import { describe, expect, it } from "vitest";
import { CliExit, EXIT } from "../src/exit-codes.js";
import {
  parseBooleanEnvironment,
  parseCountFlag,
  parseDurationFlag,
  parseEndpointList,
} from "../src/parse.js";

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliExit);
    expect((error as CliExit).exitCode).toBe(EXIT.USAGE);
    return (error as CliExit).message;
  }
  throw new Error("expected a usage error");
}

describe("parseDurationFlag", () => {
  it("reads the duration forms of the client library", () => {
    expect(parseDurationFlag("--ttl", "30s")).toBe(30_000);
    expect(parseDurationFlag("--ttl", "1m30s")).toBe(90_000);
    expect(parseDurationFlag("--wait", "250ms")).toBe(250);
    expect(parseDurationFlag("--wait", "0")).toBe(0);
  });

  it("names the flag in a usage error", () => {
    expect(usageError(() => parseDurationFlag("--ttl", "10x"))).toMatch(
      /^--ttl: "10x" is not a duration/,
    );
    expect(usageError(() => parseDurationFlag("--wait", "-1s"))).toMatch(/^--wait: /);
    // As in Go, a number needs its unit: "--wait 30" is not taken for 30 ms.
    expect(usageError(() => parseDurationFlag("--wait", "30"))).toMatch(/^--wait: "30" is not/);
  });
});

describe("parseCountFlag", () => {
  it("reads whole numbers up to the maximum", () => {
    expect(parseCountFlag("--retry-limit", "0", 10)).toBe(0);
    expect(parseCountFlag("--retry-limit", " 10 ", 10)).toBe(10);
  });

  it.each(["-1", "1.5", "", "ten", "11", "1e3"])("refuses %j", (text) => {
    expect(usageError(() => parseCountFlag("--retry-limit", text, 10))).toMatch(
      /^--retry-limit: ".*" is not a whole number between 0 and 10$/,
    );
  });
});

describe("parseBooleanEnvironment", () => {
  it.each(["1", "true", "YES", "on"])("%j is true", (text) => {
    expect(parseBooleanEnvironment("DLOCK_JSON", text)).toBe(true);
  });

  it.each(["", "0", "false", "No", "off"])("%j is false", (text) => {
    expect(parseBooleanEnvironment("DLOCK_JSON", text)).toBe(false);
  });

  it("refuses anything else, naming the variable", () => {
    expect(usageError(() => parseBooleanEnvironment("DLOCK_JSON", "maybe"))).toBe(
      'DLOCK_JSON: "maybe" is not a boolean (use 1/true or 0/false)',
    );
  });
});

describe("parseEndpointList", () => {
  it("splits on commas and drops blanks", () => {
    expect(parseEndpointList(" a:1, b:2,,")).toStrictEqual(["a:1", "b:2"]);
  });
});
