import { describe, expect, it } from "vitest";
import type { RaftError } from "../src/index.js";
import { ProposalDroppedError } from "../src/index.js";
import { bytes, Network } from "./helpers/network.js";

describe("leadership transfer", () => {
  it("hands leadership to an up-to-date follower with TimeoutNow", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const term = net.get("n1").node.status().term;
    net.get("n1").node.transferLeadership("n2");
    net.stabilize();
    expect(net.leader()).toBe("n2");
    expect(net.get("n2").node.status().term).toBe(term + 1);
    expect(net.get("n1").node.status().role).toBe("follower");
  });

  it("catches a lagging target up before telling it to campaign", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.isolate("n3");
    for (let i = 0; i < 5; i++) net.get("n1").node.propose(bytes(`v${i}`));
    net.stabilize();
    net.heal();
    const n1 = net.get("n1").node;
    n1.transferLeadership("n3");
    let timeoutNowSentAt = -1;
    let n3MatchWhenSent = -1;
    net.stabilize((m) => {
      if (m.type === "timeoutNow") {
        timeoutNowSentAt = n1.status().lastIndex;
        n3MatchWhenSent = n1.status().progress?.n3.match ?? -1;
      }
      return true;
    });
    expect(timeoutNowSentAt).toBeGreaterThan(0);
    expect(n3MatchWhenSent).toBe(timeoutNowSentAt);
    expect(net.leader()).toBe("n3");
    expect(net.appliedData("n3")).toEqual(["v0", "v1", "v2", "v3", "v4"]);
  });

  it("refuses proposals during the transfer and gives up after an election timeout", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    net.isolate("n3");
    net.propose("n1", "x");
    const n1 = net.get("n1").node;
    n1.transferLeadership("n3");
    expect(n1.status().transferee).toBe("n3");
    expect(() => n1.propose(bytes("y"))).toThrow(ProposalDroppedError);
    expect(() => n1.proposeConfChange({ type: "remove", nodeId: "n2" })).toThrow(/transfer/);
    for (let i = 0; i < 10; i++) {
      net.tick("n1");
      net.tick("n2");
      net.stabilize();
    }
    expect(n1.status().role).toBe("leader");
    expect(n1.status().transferee).toBeNull();
    expect(() => n1.propose(bytes("y"))).not.toThrow();
  });

  it("rejects a target that is not a voter", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    try {
      net.get("n1").node.transferLeadership("n9");
      expect.unreachable();
    } catch (error) {
      expect((error as RaftError).code).toBe("INVALID_TRANSFER");
    }
  });
});
