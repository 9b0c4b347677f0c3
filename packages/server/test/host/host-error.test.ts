import { describe, expect, it } from "vitest";
import { CodedError } from "@dlock/protocol";
import { HostError } from "../../src/host/errors.js";

describe("HostError", () => {
  it("is a CodedError, so callers branch on its code like on every other dlock error", () => {
    const cause = new Error("ENOSPC");
    const error = new HostError("UNHEALTHY", "storage failed", { cause });
    expect(error).toBeInstanceOf(CodedError);
    expect(error).toBeInstanceOf(HostError);
    expect(error.code).toBe("UNHEALTHY");
    expect(error.name).toBe("HostError");
    expect(error.message).toBe("storage failed");
    expect(error.cause).toBe(cause);
  });
});
