import { describe, expect, it } from "vitest";
import { DEFAULT_RAFT_CONFIG, RaftError, resolveRaftConfig } from "../src/index.js";

const random = () => 0.5;

describe("resolveRaftConfig", () => {
  it("fills every default", () => {
    const config = resolveRaftConfig({ id: "n1", random });
    expect(config.electionTicks).toBe(DEFAULT_RAFT_CONFIG.electionTicks);
    expect(config.preVote).toBe(true);
    expect(config.checkQuorum).toBe(true);
  });

  it("rejects a heartbeat interval that is not shorter than the election timeout", () => {
    expect(() =>
      resolveRaftConfig({ id: "n1", random, electionTicks: 3, heartbeatTicks: 3 }),
    ).toThrow(RaftError);
  });

  it("rejects non-positive limits and names the field", () => {
    expect(() => resolveRaftConfig({ id: "n1", random, inflightMessagesMax: 0 })).toThrow(
      /inflightMessagesMax/,
    );
    expect(() => resolveRaftConfig({ id: "", random })).toThrow(/id/);
  });
});
