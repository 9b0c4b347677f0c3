import { describe, expect, it } from "vitest";
import type { Message, SnapshotChunk } from "../src/index.js";
import { bytes, Network } from "./helpers/network.js";

/** The leader's host takes a snapshot at its applied index and compacts the log behind it. */
function snapshotAndCompact(net: Network, id: string, data: Uint8Array): number {
  const t = net.get(id);
  const status = t.node.status();
  t.storage.createSnapshot(status.applied, status.confState, data);
  t.storage.compact(status.applied);
  t.node.compacted(status.applied);
  return status.applied;
}

function laggingFollowerSetup(chunkBytes: number) {
  const net = new Network(["n1", "n2", "n3"], { config: { snapshotChunkBytes: chunkBytes } });
  net.elect("n1");
  net.isolate("n3");
  for (let i = 0; i < 20; i++) net.get("n1").node.propose(bytes(`v${i}`));
  net.stabilize();
  const data = new Uint8Array(10).map((_, i) => i + 1);
  const snapshotIndex = snapshotAndCompact(net, "n1", data);
  return { net, data, snapshotIndex };
}

/** Flips a bit of the first last chunk on the way; `damaged()` says whether it did. */
function damageLastChunkOnce(): { filter: (m: Message) => boolean; damaged: () => boolean } {
  let done = false;
  return {
    filter: (m) => {
      if (m.type === "snapshot" && m.done && !done) {
        done = true;
        const damaged = new Uint8Array(m.data);
        damaged[damaged.length - 1] ^= 0xff;
        m.data = damaged;
      }
      return true;
    },
    damaged: () => done,
  };
}

describe("snapshots", () => {
  it("a follower behind the compacted log gets the snapshot in chunks and continues from it", () => {
    const { net, data, snapshotIndex } = laggingFollowerSetup(4);
    net.heal();
    const chunks: SnapshotChunk[] = [];
    net.tickAll(5, (m) => {
      if (m.type === "snapshot") chunks.push(m);
      return true;
    });
    expect(chunks.map((c) => c.offset)).toEqual([0, 4, 8]);
    expect(chunks.map((c) => c.done)).toEqual([false, false, true]);
    const n3 = net.get("n3");
    expect(n3.installedSnapshots).toEqual([snapshotIndex]);
    expect(n3.storage.snapshot().data).toEqual(data);
    // Entries after the snapshot replicate normally.
    net.propose("n1", "after");
    expect(net.appliedData("n3")).toEqual(["after"]);
    expect(n3.node.status().commit).toBe(net.get("n1").node.status().commit);
  });

  it("resumes after a lost chunk through the retransmission on heartbeats", () => {
    const { net, data, snapshotIndex } = laggingFollowerSetup(4);
    net.heal();
    let dropped = false;
    let resent = 0;
    // The resend waits about an election timeout (10 heartbeats) without an acknowledgement.
    net.tickAll(9, (m) => {
      if (m.type === "snapshot" && m.offset === 4 && !dropped) {
        dropped = true;
        return false;
      }
      if (m.type === "snapshot" && m.offset === 4) resent++;
      return true;
    });
    expect(dropped).toBe(true);
    expect(resent).toBe(0);
    expect(net.get("n3").installedSnapshots).toEqual([]);
    net.tickAll(10, (m) => {
      if (m.type === "snapshot" && m.offset === 4 && !dropped) {
        dropped = true;
        return false;
      }
      return true;
    });
    expect(dropped).toBe(true);
    expect(net.get("n3").installedSnapshots).toEqual([snapshotIndex]);
    expect(net.get("n3").storage.snapshot().data).toEqual(data);
  });

  it("restarts the transfer when the follower lost its partial snapshot (reject)", () => {
    const { net, snapshotIndex } = laggingFollowerSetup(4);
    net.heal();
    let restarted = false;
    let rejects = 0;
    net.tickAll(10, (m) => {
      if (m.type === "snapshotResp" && m.reject) rejects++;
      if (m.type === "snapshot" && m.offset === 4 && !restarted) {
        // n3 crashes and restarts from its storage: the partial transfer is gone.
        restarted = true;
        const n3 = net.get("n3");
        net.start("n3", n3.storage, { snapshotChunkBytes: 4 }, n3.node.status().applied);
      }
      return true;
    });
    expect(restarted).toBe(true);
    expect(rejects).toBeGreaterThanOrEqual(1);
    expect(net.get("n3").installedSnapshots).toEqual([snapshotIndex]);
  });

  it("switches to a newer snapshot the host took during a transfer", () => {
    const { net, snapshotIndex } = laggingFollowerSetup(4);
    net.heal();
    let switched = false;
    const offsets: number[] = [];
    net.tickAll(10, (m) => {
      if (m.type === "snapshot") {
        offsets.push(m.metadata.index * 1000 + m.offset);
        if (!switched && m.offset === 4) {
          // The leader's host snapshots again (after more entries) while chunks are in flight.
          switched = true;
          net.get("n1").node.propose(bytes("more"));
          net.stabilize((x) => x.to !== "n3");
          snapshotAndCompact(net, "n1", new Uint8Array([9, 9, 9, 9, 9, 9]));
        }
      }
      return true;
    });
    const newer = net.get("n1").storage.snapshot().metadata.index;
    expect(newer).toBeGreaterThan(snapshotIndex);
    expect(offsets).toContain(newer * 1000);
    expect(net.get("n3").installedSnapshots.at(-1)).toBe(newer);
    expect(net.get("n3").storage.snapshot().data).toEqual(new Uint8Array([9, 9, 9, 9, 9, 9]));
    net.propose("n1", "tail");
    expect(net.appliedData("n3").at(-1)).toBe("tail");
  });

  it("a restarted node recovers from its stored snapshot and log", () => {
    const { net, snapshotIndex } = laggingFollowerSetup(1024);
    net.heal();
    net.tickAll(5);
    const n3 = net.get("n3");
    const restarted = net.start("n3", n3.storage, {}, snapshotIndex);
    expect(restarted.node.status().firstIndex).toBe(snapshotIndex + 1);
    expect(restarted.node.status().confState.voters).toEqual(["n1", "n2", "n3"]);
    net.propose("n1", "later");
    expect(net.appliedData("n3").at(-1)).toBe("later");
  });

  it("refuses a snapshot the host's check rejects and installs the next complete, good copy", () => {
    const { net, data, snapshotIndex } = laggingFollowerSetup(4);
    const n3 = net.get("n3");
    const checked: number[] = [];
    net.start("n3", n3.storage, {
      snapshotChunkBytes: 4,
      checkSnapshot: (snapshot) => {
        checked.push(snapshot.metadata.index);
        return snapshot.data[9] === 10 ? null : "checksum mismatch";
      },
    });
    net.heal();
    let rejects = 0;
    // One bit flips on the way: the follower must not install what it received.
    const damage = damageLastChunkOnce();
    net.tickAll(20, (m) => {
      if (m.type === "snapshotResp" && m.reject) rejects++;
      return damage.filter(m);
    });
    expect(damage.damaged()).toBe(true);
    expect(rejects).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeGreaterThanOrEqual(2);
    expect(net.get("n3").installedSnapshots).toEqual([snapshotIndex]);
    expect(net.get("n3").storage.snapshot().data).toEqual(data);
  });

  it("checks a snapshot a chunk at a time as it arrives when the host gives snapshotCheck, refusing a damaged copy", () => {
    const { net, data, snapshotIndex } = laggingFollowerSetup(4);
    const n3 = net.get("n3");
    const fed: number[][] = [];
    let wholeChecks = 0;
    net.start("n3", n3.storage, {
      snapshotChunkBytes: 4,
      checkSnapshot: () => {
        wholeChecks++;
        return null;
      },
      snapshotCheck: (metadata, totalBytes) => {
        expect([metadata.index, totalBytes]).toEqual([snapshotIndex, data.length]);
        const pieces: number[] = [];
        fed.push(pieces);
        let last = -1;
        return {
          update: (bytes) => {
            pieces.push(bytes.length);
            last = bytes[bytes.length - 1]!;
          },
          problem: () => (last === 10 ? null : "checksum mismatch"),
        };
      },
    });
    net.heal();
    const damage = damageLastChunkOnce();
    net.tickAll(20, damage.filter);
    expect(damage.damaged()).toBe(true);
    // Fed chunk by chunk (4 + 4 + 2 bytes); the damaged copy refused, the next one installed.
    expect(fed.length).toBeGreaterThanOrEqual(2);
    expect(fed[0]).toEqual([4, 4, 2]);
    expect(fed.at(-1)).toEqual([4, 4, 2]);
    expect(wholeChecks).toBe(0);
    expect(net.get("n3").installedSnapshots).toEqual([snapshotIndex]);
    expect(net.get("n3").storage.snapshot().data).toEqual(data);
  });

  it("a burst of heartbeat answers (queued while disconnected) resends a lost chunk once, not per answer", () => {
    const { net } = laggingFollowerSetup(4);
    net.heal();
    // The first chunk goes out and is lost.
    const n1 = net.get("n1");
    net.tickAll(1, (m) => m.type !== "snapshot");
    expect(n1.node.status().progress?.n3.state).toBe("snapshot");
    const term = n1.node.status().term;
    for (let i = 0; i < 30; i++) {
      n1.node.step({ type: "heartbeatResp", from: "n3", to: "n1", term, readContext: 0 });
    }
    const sentAfterBurst = n1.node.ready().messages.filter((m) => m.type === "snapshot");
    expect(sentAfterBurst).toHaveLength(0);
    // An election timeout later (10 ticks), the chunk is resent once.
    let resent = 0;
    for (let t = 0; t < 10; t++) {
      n1.node.tick();
      resent += n1.node.ready().messages.filter((m) => m.type === "snapshot").length;
    }
    expect(resent).toBe(1);
  });
});
