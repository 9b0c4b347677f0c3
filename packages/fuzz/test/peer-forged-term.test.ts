// Regression for the fuzzer's finding "peer-forged-term" (seed 7, shrunk by hand): one appendResp
// from the member n9 at term 2^53 - 1, sent to a follower, once left all three nodes
// preCandidates at that term, persisted, with no leader for good. Now the term is refused
// (above TERM_MAX): the cluster keeps serving, and no node holds or persists the term.
import { afterAll, beforeAll, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "@dlock/protocol";
import { connectPlain } from "../src/connection.js";
import { CLUSTER_ID, FuzzCluster, PHANTOM_ID } from "../src/fuzz-cluster.js";
import { sendInput } from "../src/send.js";
import { encodeFrame } from "../src/wire-input.js";

/** @dlock/raft's TERM_MAX: no term at or above it is ever adopted. */
const TERM_MAX = 2 ** 48;

let fuzz: FuzzCluster;

beforeAll(async () => {
  fuzz = await FuzzCluster.start();
}, 120_000);

afterAll(async () => {
  await fuzz?.stop();
});

async function termsAboveCeiling(): Promise<string[]> {
  const views = await fuzz.views();
  return views.filter((v) => v.term >= TERM_MAX).map((v) => `${v.id} at term ${v.term}`);
}

it("an appendResp from a member at term 2^53 - 1 leaves the cluster serving, the term nowhere", async () => {
  const leader = await fuzz.waitHealthy();
  const follower = fuzz.cluster.nodes.find((n) => n.id !== leader);
  if (follower === undefined) throw new Error("no follower");
  const outcome = await sendInput({
    connect: connectPlain,
    address: follower.peerAddress,
    chunks: [
      encodeFrame({
        type: "hello",
        protocolVersion: PROTOCOL_VERSION,
        clusterId: CLUSTER_ID,
        role: "peer",
        nodeId: PHANTOM_ID,
      }),
      encodeFrame({
        type: "raft",
        messages: [
          {
            type: "appendResp",
            from: PHANTOM_ID,
            to: follower.id,
            term: Number.MAX_SAFE_INTEGER,
            reject: false,
            index: 0,
            hintIndex: 0,
            hintTerm: 0,
          },
        ],
      }),
    ],
    timeoutMs: 5_000,
    framed: true,
    endAfterWrite: false,
    gapMs: 0,
    dwellMs: 0,
  });
  expect(outcome.refused).toBe(false);

  // Served after the message: a write commits (it needs every real node: four voters).
  await fuzz.canaryLock();
  expect(await fuzz.lostSeededLocks()).toEqual([]);
  expect(await termsAboveCeiling()).toEqual([]);
  expect(await fuzz.deadOrCrashed()).toEqual([]);

  // Not persisted either: the follower restarts from its disk at an ordinary term.
  await fuzz.cluster.kill(follower.id, "SIGKILL");
  fuzz.cluster.restart(follower.id);
  await fuzz.waitHealthy();
  await fuzz.canaryLock();
  expect(await termsAboveCeiling()).toEqual([]);
  expect(await fuzz.lostSeededLocks()).toEqual([]);
}, 240_000);
