// Findings the fuzzer reproduces that other work in progress fixes. They are not CI properties
// yet: the inputs that trigger them are generated but not sent unless `--include-open` (or
// `includeOpen: true`) asks for them. When the fix lands, make the CI test send them (drop the
// entry here and the exclusion it names), so the fix stays fixed.
export interface KnownFinding {
  id: string;
  /** The input, the symptom, and where. */
  summary: string;
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
