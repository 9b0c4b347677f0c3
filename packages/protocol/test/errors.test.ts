import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ClusterUnavailableError,
  ConnectionClosedError,
  DlockError,
  FrameEncoder,
  FrameDecoder,
  FrameTooLargeError,
  HandshakeFailedError,
  InternalError,
  InvalidArgumentError,
  LockBusyError,
  LockLostError,
  MalformedFrameError,
  NotLeaderError,
  NotOwnerError,
  OverloadedError,
  PermissionDeniedError,
  TimedOutError,
  TooManyRequestsError,
  UnauthenticatedError,
  errorFromWire,
  errorToWire,
} from "../src/index.js";

/** Sends an error through a real frame, as a server would, and rebuilds it. */
function overTheWire(error: DlockError): DlockError {
  const frame = new FrameEncoder().encode({ type: "error", id: 1, error: errorToWire(error) });
  let rebuilt: DlockError | undefined;
  new FrameDecoder().push(frame, (body) => {
    rebuilt = errorFromWire((body as { error: unknown }).error);
  });
  return rebuilt!;
}

describe("PERMISSION_DENIED across the wire", () => {
  it("keeps the operation and the key (null for an operation on no key)", () => {
    const denied = overTheWire(new PermissionDeniedError("acquire", "billing/x"));
    expect(denied).toMatchObject({ operation: "acquire", key: "billing/x" });
    expect(denied.message).toContain('acquire on "billing/x"');
    expect(overTheWire(new PermissionDeniedError("removeMember", null))).toMatchObject({
      operation: "removeMember",
      key: null,
    });
  });
});

describe("typed errors across the wire", () => {
  const cases: [DlockError, new (...args: never[]) => DlockError, string][] = [
    [new LockBusyError("k"), LockBusyError, "LOCK_BUSY"],
    [new NotOwnerError("not yours"), NotOwnerError, "NOT_OWNER"],
    [new LockLostError("k", "lost"), LockLostError, "LOCK_LOST"],
    [new ClusterUnavailableError("no quorum"), ClusterUnavailableError, "CLUSTER_UNAVAILABLE"],
    [new InvalidArgumentError("ttlMs", "too small"), InvalidArgumentError, "INVALID_ARGUMENT"],
    [new TimedOutError("slow"), TimedOutError, "TIMED_OUT"],
    [new AbortedError(), AbortedError, "ABORTED"],
    [
      new NotLeaderError({ id: "n2", clientAddress: "127.0.0.1:7002" }),
      NotLeaderError,
      "NOT_LEADER",
    ],
    [new FrameTooLargeError(10, 5), FrameTooLargeError, "FRAME_TOO_LARGE"],
    [new MalformedFrameError("junk"), MalformedFrameError, "MALFORMED_FRAME"],
    [new HandshakeFailedError("clusterId", "wrong"), HandshakeFailedError, "HANDSHAKE_FAILED"],
    [new TooManyRequestsError("slow down", 50), TooManyRequestsError, "TOO_MANY_REQUESTS"],
    [new OverloadedError("busy"), OverloadedError, "OVERLOADED"],
    [new ConnectionClosedError(), ConnectionClosedError, "CONNECTION_CLOSED"],
    [new InternalError("bug"), InternalError, "INTERNAL"],
    [new UnauthenticatedError("who are you"), UnauthenticatedError, "UNAUTHENTICATED"],
    [new PermissionDeniedError("acquire", "billing/x"), PermissionDeniedError, "PERMISSION_DENIED"],
  ];

  for (const [error, Class, code] of cases) {
    it(`${code} comes back as ${Class.name} with the same message`, () => {
      const rebuilt = overTheWire(error);
      expect(rebuilt).toBeInstanceOf(Class);
      expect(rebuilt).toBeInstanceOf(DlockError);
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.message).toBe(error.message);
      expect(rebuilt.name).toBe(error.name);
    });
  }

  it("keeps the structured fields", () => {
    const notLeader = overTheWire(
      new NotLeaderError({ id: "n2", clientAddress: "127.0.0.1:7002" }),
    ) as NotLeaderError;
    expect(notLeader.leaderHint).toEqual({ id: "n2", clientAddress: "127.0.0.1:7002" });
    expect((overTheWire(new NotLeaderError(null)) as NotLeaderError).leaderHint).toBeNull();
    // notApplied crosses the wire; absent means the request may still take effect.
    expect((overTheWire(new NotLeaderError(null)) as NotLeaderError).notApplied).toBe(false);
    expect(
      (overTheWire(new NotLeaderError(null, "m", { notApplied: true })) as NotLeaderError)
        .notApplied,
    ).toBe(true);
    expect(
      (errorFromWire({ code: "NOT_LEADER", message: "m", notApplied: "yes" }) as NotLeaderError)
        .notApplied,
    ).toBe(false);
    expect(
      (overTheWire(new InvalidArgumentError("key", "too long")) as InvalidArgumentError).field,
    ).toBe("key");
    const tooLarge = overTheWire(new FrameTooLargeError(10, 5)) as FrameTooLargeError;
    expect([tooLarge.frameBytes, tooLarge.frameBytesMax]).toEqual([10, 5]);
    expect(
      (overTheWire(new HandshakeFailedError("clusterId", "x")) as HandshakeFailedError).reason,
    ).toBe("clusterId");
    expect(
      (overTheWire(new TooManyRequestsError("x", 50)) as TooManyRequestsError).retryAfterMs,
    ).toBe(50);
    expect((overTheWire(new LockBusyError("k1")) as LockBusyError).key).toBe("k1");
  });

  it("turns unknown codes and junk into InternalError instead of throwing", () => {
    expect(errorFromWire({ code: "FUTURE_CODE", message: "m" })).toBeInstanceOf(InternalError);
    expect(errorFromWire({ code: "FUTURE_CODE", message: "m" }).message).toContain("FUTURE_CODE");
    expect(errorFromWire(null)).toBeInstanceOf(InternalError);
    expect(errorFromWire({ code: 5 })).toBeInstanceOf(InternalError);
    expect(errorFromWire({ code: "NOT_LEADER", message: "m", leaderHint: 3 })).toBeInstanceOf(
      NotLeaderError,
    );
  });

  it("sends a non-dlock exception as INTERNAL", () => {
    expect(errorToWire(new TypeError("boom"))).toEqual({ code: "INTERNAL", message: "boom" });
    expect(errorToWire("text")).toEqual({ code: "INTERNAL", message: "text" });
  });

  it("keeps the cause of local errors", () => {
    const cause = new Error("socket reset");
    expect(new ClusterUnavailableError("down", { cause }).cause).toBe(cause);
  });
});
