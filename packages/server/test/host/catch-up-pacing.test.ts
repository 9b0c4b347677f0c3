import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeCommand } from "../../src/lock/index.js";
import { tempDir } from "../storage/helpers.js";
import { RecordingNetwork, leaderOf, startNode, waitFor } from "./cluster.js";
import type { TestNode } from "./cluster.js";

const IDS = ["n1", "n2", "n3"];
const TURN_BYTES_MAX = 4096;
const MESSAGE_BYTES_MAX = 2048;
const PROPOSALS = 400;

const bigAcquire = (key: string): Uint8Array =>
  encodeCommand({
    type: "acquire",
    key,
    value: "v".repeat(200),
    ttlMs: 60_000,
    waitMs: 0,
    lockDelayMs: 0,
    requestId: 1,
  });

describe("RaftHost: a follower far behind is caught up a budget per turn", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let nodes: TestNode[] = [];

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir("pacing"));
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.host.stop()));
    nodes = [];
    await cleanup();
  });

  it("hands the transport at most appendBytesPerTurnMax of entries per follower per call, and the follower catches up", async () => {
    const network = new RecordingNetwork();
    nodes = await Promise.all(
      IDS.map((id) =>
        startNode(network, id, `${root}/${id}`, IDS, {
          // No compaction: the follower is caught up with entries, not a snapshot.
          compactionEntries: 0,
          compactionBytes: 0,
          appendBytesPerTurnMax: TURN_BYTES_MAX,
          raft: { messageBytesMax: MESSAGE_BYTES_MAX },
        }),
      ),
    );
    await waitFor("a leader", () => leaderOf(nodes) !== undefined);
    const leader = leaderOf(nodes) as TestNode;
    const behind = nodes.find((n) => n !== leader) as TestNode;

    network.isolate(behind.id);
    await Promise.all(
      Array.from({ length: PROPOSALS }, (_, i) => leader.host.propose(bigAcquire(`k${i}`))),
    );
    const last = leader.storage.lastIndex();
    const callsBefore = network.calls.length;
    network.heal(behind.id);
    await waitFor("the follower caught up", () => behind.host.status().applied >= last);
    expect(behind.table.get(`k${PROPOSALS - 1}`).held).toBe(true);

    let callsWithEntries = 0;
    let bytesSent = 0;
    for (const call of network.calls.slice(callsBefore)) {
      if (call.from !== leader.id) continue;
      let bytes = 0;
      for (const m of call.messages) {
        if (m.to !== behind.id || m.type !== "append") continue;
        for (const entry of m.entries) bytes += entry.data.byteLength;
      }
      // Every message is within messageBytesMax, so no call may pass the turn's budget.
      expect(bytes).toBeLessThanOrEqual(TURN_BYTES_MAX);
      if (bytes > 0) callsWithEntries++;
      bytesSent += bytes;
    }
    // Paced: the window (2 MiB by default) would have let it all go in one call.
    expect(bytesSent).toBeGreaterThan(PROPOSALS * 200);
    expect(callsWithEntries).toBeGreaterThanOrEqual(Math.ceil(bytesSent / TURN_BYTES_MAX));
  });
});
