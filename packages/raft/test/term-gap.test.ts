// Liveness when one voter is about termAheadMax terms behind the others (issue #10): the margin
// that stops one member's forged huge term must not keep an honest group leaderless. Virtual
// ticks; every case runs a few fixed seeds, named in the failure.
import { describe, expect, it } from "vitest";
import { DEFAULT_RAFT_CONFIG } from "../src/index.js";
import type { NodeId } from "../src/index.js";
import { Network, storageWithLog } from "./helpers/network.js";

const margin = DEFAULT_RAFT_CONFIG.termAheadMax;
const behindTerm = 5;
/** Entry terms of n1's log and of n2's and n3's. */
const layouts: Record<string, { n1: number[]; others: number[] }> = {
  "equal logs": { n1: [1, 2, 5], others: [1, 2, 5] },
  "n1 has the longest log": { n1: [1, 2, 5, 5, 5], others: [1, 2, 5] },
  "n1 has the newest last term": { n1: [1, 2, 5], others: [1, 2] },
  "n1 has the shortest log": { n1: [1, 2], others: [1, 2, 5] },
};
type Layout = keyof typeof layouts;
interface Flags {
  preVote: boolean;
  checkQuorum: boolean;
}
/** As the server runs the core (its defaults). */
const serverFlags: Flags = { preVote: true, checkQuorum: true };
/** Thirty election timeouts of at most 2 × 10 ticks: ample for a few lost elections. */
const ticksMax = 600;
const seeds = [1, 2, 3];
const live: NodeId[] = ["n1", "n2", "n3"];
/** The fuzz cluster lists a fourth voter that has no process: n2 and n3 cannot elect without n1. */
const withPhantom: NodeId[] = [...live, "n9"];

/** n1 at term behindTerm, n2 and n3 `gap` terms above it; `voters` may name a node never started. */
function gapCluster(gap: number, layout: Layout, flags: Flags, voters: NodeId[], seed: number) {
  const net = new Network([], { seed });
  const { n1, others } = layouts[layout];
  net.start("n1", storageWithLog(voters, n1, { term: behindTerm }), flags);
  for (const id of ["n2", "n3"]) {
    net.start(id, storageWithLog(voters, others, { term: behindTerm + gap }), flags);
  }
  return net;
}

/** Ticks until one leader leads all three in its term; the outcome, for a readable failure. */
function converge(net: Network): { converged: boolean; nodes: string[] } {
  let converged = false;
  for (let tick = 0; tick < ticksMax && !converged; tick++) {
    net.tickAll(1);
    const leaders = net.leaders();
    converged =
      leaders.length === 1 &&
      live.every((id) => {
        const s = net.get(id).node.status();
        return s.term === leaders[0].term && s.leader === leaders[0].id;
      });
  }
  const nodes = live.map((id) => {
    const s = net.get(id).node.status();
    return `${id} ${s.role} term ${s.term}`;
  });
  return { converged, nodes };
}

function expectConverges(gap: number, layout: Layout, flags: Flags, voters: NodeId[]): void {
  for (const seed of seeds) {
    const outcome = converge(gapCluster(gap, layout, flags, voters, seed));
    expect({ seed, ...outcome }).toEqual({ seed, converged: true, nodes: outcome.nodes });
  }
}

describe("a voter termAheadMax terms behind the others", () => {
  // Regression (peer fuzz): n1 2^24 + 1 terms behind n2 and n3, with the phantom voter n9. n1
  // refused n2's and n3's pre-votes as too far ahead, they refused n1's as stale, and n2 and n3
  // alone are no majority of four: all three stayed pre-candidates.
  it("the fuzz cluster's configuration: n1 2^24 + 1 behind, a fourth voter down, server flags", () => {
    expectConverges(margin + 1, "equal logs", serverFlags, withPhantom);
  });

  const gaps = [margin - 1, margin, margin + 1, margin + 2];
  const flagSets: Flags[] = [
    serverFlags,
    { preVote: true, checkQuorum: false },
    { preVote: false, checkQuorum: true },
    { preVote: false, checkQuorum: false },
  ];
  for (const voters of [live, withPhantom]) {
    for (const flags of flagSets) {
      for (const layout of Object.keys(layouts) as Layout[]) {
        for (const gap of gaps) {
          const offset = gap - margin;
          it(`2^24 ${offset < 0 ? "-" : "+"} ${Math.abs(offset)} behind, ${layout}, preVote ${flags.preVote}, checkQuorum ${flags.checkQuorum}, voters ${voters.join(",")}`, () => {
            expectConverges(gap, layout, flags, voters);
          });
        }
      }
    }
  }
});
