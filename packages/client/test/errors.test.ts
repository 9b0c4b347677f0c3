// Every error a caller can receive is exported from the client's main entry, as a class that
// `instanceof` recognizes, and the client README names every code with what to do about it.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { errorFromWire } from "@dlock/protocol";
import type { ErrorCode } from "@dlock/protocol";
import * as client from "../src/index.js";

// A Record over the union: adding an ErrorCode without listing it here fails the typecheck.
const EVERY_CODE: Record<ErrorCode, true> = {
  LOCK_BUSY: true,
  NOT_OWNER: true,
  LOCK_LOST: true,
  CLUSTER_UNAVAILABLE: true,
  INVALID_ARGUMENT: true,
  TIMED_OUT: true,
  ABORTED: true,
  NOT_LEADER: true,
  FRAME_TOO_LARGE: true,
  MALFORMED_FRAME: true,
  HANDSHAKE_FAILED: true,
  TOO_MANY_REQUESTS: true,
  OVERLOADED: true,
  CONNECTION_CLOSED: true,
  CONFIG_CHANGE_REFUSED: true,
  UNAUTHENTICATED: true,
  PERMISSION_DENIED: true,
  KIND_MISMATCH: true,
  SEMAPHORE_PERMITS_MISMATCH: true,
  WATCH_REVISION_COMPACTED: true,
  LOCKS_FULL: true,
  INTERNAL: true,
};
const CODES = Object.keys(EVERY_CODE) as ErrorCode[];

const exportedClasses = new Map<string, unknown>(
  Object.entries(client as Record<string, unknown>).filter(
    ([, value]) => typeof value === "function" && value.prototype instanceof Error,
  ),
);

describe("the client's errors", () => {
  it.each(CODES)("%s arrives as a class exported from @dlock/client", (code) => {
    const error = errorFromWire({ code, message: "m" });
    expect(error.code).toBe(code);
    const name = error.constructor.name;
    expect(exportedClasses.get(name)).toBe(error.constructor);
    expect(error).toBeInstanceOf(client.DlockError);
  });

  it("exports the shared bases and the client-side option error", () => {
    expect(new client.OverloadedError("m")).toBeInstanceOf(client.RetryAfterError);
    expect(new client.TooManyRequestsError("m", 10)).toBeInstanceOf(client.RetryAfterError);
    expect(new client.ConfigError("endpoints", "m")).toBeInstanceOf(client.InvalidArgumentError);
  });

  it("are each listed in the client README with what to do", () => {
    const readme = readFileSync(
      join(dirname(fileURLToPath(import.meta.url)), "../README.md"),
      "utf8",
    );
    for (const code of CODES) {
      const className = errorFromWire({ code, message: "m" }).constructor.name;
      expect(readme, code).toMatch(new RegExp(`\\| \`${code}\` +\\| \`${className}\` +\\| \\S`));
    }
  });
});
