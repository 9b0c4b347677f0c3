// Findings the fuzzer reproduces that other work in progress fixes. They are not CI properties
// yet: the inputs that trigger them are generated but not sent unless `--include-open` (or
// `includeOpen: true`) asks for them. When the fix lands, make the CI test send them (drop the
// entry here and the exclusion it names), so the fix stays fixed.
export interface KnownFinding {
  id: string;
  /** The input, the symptom, and where. */
  summary: string;
  /** The smallest input known to show it, if one was taken apart. */
  smallest?: string;
  /** Which inputs are held back for it. */
  excluded: string;
  /** Who fixes it. */
  owner: string;
}

export const KNOWN_FINDINGS: readonly KnownFinding[] = [
  {
    id: "peer-forged-term",
    summary:
      "A Raft message from a member (after a valid peer hello) with a term above the target's, up to 2^53 - 1, is obeyed: the target adopts and persists the term and a healthy leader steps down. A timeoutNow from a non-leader starts an election; an append or heartbeat at the current term from a node that is not the leader is taken as the leader's.",
    // Shrunk by hand from the fuzzer's counterexample (seed 7, --include-open), reproduced
    // against three real servers: one frame, one message, to a follower.
    smallest:
      'after a valid peer hello claiming n9: {type:"raft", messages:[{type:"appendResp", from:"n9", to:<follower>, term:2^53-1, reject:false, index:0, hintIndex:0, hintTerm:0}]}. Within seconds all three nodes are preCandidates at term 2^53-1 with no leader, for good: their pre-votes carry term 2^53, which every peer refuses as malformed (not a safe integer), closing the link. No write or linearizable read succeeds again; the data is intact.',
    excluded:
      "peer-port byte streams that can deliver such a message (carriesHostileMessage in peer-inputs.ts)",
    owner:
      "raftguard (term bounds, timeoutNow only from the leader); tls (only real members get a hello through)",
  },
  {
    id: "client-membership-unauthenticated",
    summary:
      "addMember / removeMember / promoteMember of a real node id on the client port are obeyed from any connection.",
    excluded: "membership changes naming real members are not generated (client-inputs.ts)",
    owner: "auth (admin-only membership)",
  },
];
