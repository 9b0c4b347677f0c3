import { describe, expect, it } from "vitest";
import { notLeaderError } from "@dlock/raft";
import { ClusterUnavailableError, NotLeaderError, OverloadedError } from "@dlock/protocol";
import { HostError } from "../../src/host/errors.js";
import { hostFailureToWire } from "../../src/node/wire-errors.js";

const hintOf = (leader: string | null) =>
  leader === null ? null : { id: leader, clientAddress: `${leader}:7001` };

describe("hostFailureToWire", () => {
  it("sends a client away from a node whose disk fails: NOT_LEADER without a hint, with the reason", () => {
    const error = hostFailureToWire(
      new HostError("UNHEALTHY", "cannot write to the data folder (ENOSPC)"),
      hintOf,
    );
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toBeNull();
    expect(error.message).toMatch(/cannot write to the data folder \(ENOSPC\).*another node/);
  });

  it("keeps the other mappings: a leader hint, back off when overloaded, retry when unknown", () => {
    const redirected = hostFailureToWire(notLeaderError("n2"), hintOf);
    expect((redirected as NotLeaderError).leaderHint).toEqual({
      id: "n2",
      clientAddress: "n2:7001",
    });
    // The core refused the proposal before appending it: it certainly had no effect.
    expect((redirected as NotLeaderError).notApplied).toBe(true);
    expect(hostFailureToWire(new HostError("OVERLOADED", "busy"), hintOf)).toBeInstanceOf(
      OverloadedError,
    );
    expect(hostFailureToWire(new HostError("OUTCOME_UNKNOWN", "snapshot"), hintOf)).toBeInstanceOf(
      ClusterUnavailableError,
    );
  });

  it("says whether a NOT_LEADER request may still take effect", () => {
    // Another leader's entry took the slot: never applied.
    const lost = hostFailureToWire(new HostError("PROPOSAL_LOST", "replaced"), hintOf);
    expect((lost as NotLeaderError).notApplied).toBe(true);
    // A failing disk may have stopped this node after its entry reached the followers.
    const unhealthy = hostFailureToWire(new HostError("UNHEALTHY", "ENOSPC"), hintOf);
    expect((unhealthy as NotLeaderError).notApplied).toBe(false);
  });
});
