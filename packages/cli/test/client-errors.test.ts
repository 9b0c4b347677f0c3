import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ClusterUnavailableError,
  DlockError,
  InvalidArgumentError,
  LockBusyError,
  LockLostError,
  NotOwnerError,
  TimedOutError,
} from "@dlock/client";
import { cliExitFor } from "../src/client-errors.js";
import { CliExit, EXIT } from "../src/exit-codes.js";

const context = {
  command: "dlock get",
  endpoints: ["127.0.0.1:7001", "127.0.0.1:7002"],
  timeoutMs: 10_000,
};

function exitFor(error: unknown): CliExit {
  const mapped = cliExitFor(error, context);
  expect(mapped).toBeInstanceOf(CliExit);
  return mapped as CliExit;
}

describe("cliExitFor", () => {
  it("lock busy → 3, with what to do", () => {
    const exit = exitFor(new LockBusyError("k"));
    expect(exit.exitCode).toBe(EXIT.LOCK_BUSY);
    expect(exit.message).toBe(
      'dlock get: lock "k" is held by another holder; try again later, or wait for it with --wait (e.g. --wait 1m) or --retry-limit',
    );
  });

  it("cluster unavailable → 5, naming the timeout, the endpoints, the last error and pnpm start", () => {
    const cause = new DlockError("CONNECTION_CLOSED", "connect ECONNREFUSED 127.0.0.1:7002");
    const exit = exitFor(new ClusterUnavailableError("no leader answered get in time", { cause }));
    expect(exit.exitCode).toBe(EXIT.UNAVAILABLE);
    expect(exit.message).toBe(
      "dlock get: no leader answered within 10s from 127.0.0.1:7001,127.0.0.1:7002 " +
        "(last error: connect ECONNREFUSED 127.0.0.1:7002): is the cluster running? (pnpm start) " +
        "Set --endpoints or DLOCK_ENDPOINTS to its client addresses",
    );
    expect(exit.message).not.toContain("\n");
  });

  it("a refused cluster id → 5, pointing at --cluster-id", () => {
    // The client rebuilds the server's HandshakeFailedError, a DlockError with this code.
    const cause = new DlockError("HANDSHAKE_FAILED", 'cluster id "a" does not match ("b")');
    const exit = exitFor(new ClusterUnavailableError("no leader", { cause }));
    expect(exit.exitCode).toBe(EXIT.UNAVAILABLE);
    expect(exit.message).toMatch(
      /does not match \("b"\): check --cluster-id \(DLOCK_CLUSTER_ID\)$/,
    );
  });

  it("a timed-out request → 5", () => {
    expect(exitFor(new TimedOutError("no answer")).exitCode).toBe(EXIT.UNAVAILABLE);
  });

  it("invalid argument → 2, naming the flag instead of the library's field", () => {
    const exit = exitFor(new InvalidArgumentError("ttlMs", "must be between 1000 and 86400000 ms"));
    expect(exit.exitCode).toBe(EXIT.USAGE);
    expect(exit.message).toBe("dlock get: --ttl: must be between 1000 and 86400000 ms");
    expect(exitFor(new InvalidArgumentError("key", "is too long")).message).toBe(
      "dlock get: <key>: is too long",
    );
    expect(exitFor(new InvalidArgumentError("mystery", "bad")).message).toBe(
      "dlock get: mystery: bad",
    );
  });

  it("lock lost → 4", () => {
    const exit = exitFor(new LockLostError("k", 'lock "k" lost: before it was confirmed'));
    expect(exit.exitCode).toBe(EXIT.LOCK_LOST);
    expect(exit.message).toBe('dlock get: lock "k" lost: before it was confirmed');
  });

  it("any other dlock error → 1 with its code", () => {
    const exit = exitFor(new NotOwnerError("not yours"));
    expect(exit.exitCode).toBe(EXIT.ERROR);
    expect(exit.message).toBe("dlock get: not yours (NOT_OWNER)");
    expect(exitFor(new AbortedError()).exitCode).toBe(EXIT.ERROR);
  });

  it("leaves errors that are not dlock's alone (a bug keeps its stack)", () => {
    const bug = new TypeError("x is undefined");
    expect(cliExitFor(bug, context)).toBe(bug);
  });
});
