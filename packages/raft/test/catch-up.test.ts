import { describe, expect, it } from "vitest";
import { entriesBytes } from "../src/entry-size.js";
import type { AppendRequest, Message } from "../src/index.js";
import { Network } from "./helpers/network.js";
import { SlowLink } from "./helpers/slow-link.js";

const ENTRY_BYTES = 200;

/** Bytes of the leader's entries in (after, through]. */
function logBytes(net: Network, after: number, through: number): number {
  const storage = net.get("n1").storage;
  return entriesBytes(storage.entries(after + 1, through + 1, Number.MAX_SAFE_INTEGER));
}

/**
 * n3 misses `lackedEntries` entries while cut off, then rejoins over a slow link (and a slow disk)
 * while the leader keeps taking `proposalsPerTick` proposals; returns what the leader sent it.
 */
function catchUpUnderLoad(options: { lackedEntries: number; proposalsPerTick: number }): {
  sent: number;
  appends: number;
  resets: number;
  lacked: number;
  ticks: number;
} {
  const net = new Network(["n1", "n2", "n3"], {
    config: { inflightBytesMax: 2 * 1024 * 1024 },
  });
  net.elect("n1");
  const leader = net.get("n1").node;
  net.isolate("n3");
  for (let i = 0; i < options.lackedEntries; i++) {
    leader.propose(new Uint8Array(ENTRY_BYTES).fill(i % 251));
    if (i % 100 === 99) net.stabilize();
  }
  net.stabilize();
  const followerLastAtHeal = net.get("n3").node.status().lastIndex;
  net.heal();
  const link = new SlowLink(net, {
    from: "n1",
    to: "n3",
    linkBytesPerTick: 32 * 1024,
    persistDelayTicks: 10,
    queueBytesMax: 4 * 1024 * 1024,
  });
  const loadTicks = 60;
  let ticks = 0;
  for (; ticks < 2000; ticks++) {
    if (ticks < loadTicks) {
      for (let i = 0; i < options.proposalsPerTick; i++)
        leader.propose(new Uint8Array(ENTRY_BYTES));
    }
    link.tick();
    const status = leader.status();
    expect(status.role).toBe("leader");
    if (ticks >= loadTicks && status.progress!.n3.match === status.lastIndex) break;
  }
  const last = leader.status().lastIndex;
  expect(leader.status().progress!.n3.match).toBe(last);
  expect(net.get("n3").node.status().commit).toBe(last);
  return {
    sent: link.entryBytesSent,
    appends: link.appendsSent,
    resets: link.resets,
    lacked: logBytes(net, followerLastAtHeal, last),
    ticks,
  };
}

describe("catch-up flow control", () => {
  it("sends a lagging follower under steady proposals at most twice the bytes it lacked", () => {
    const result = catchUpUnderLoad({ lackedEntries: 20_000, proposalsPerTick: 20 });
    console.log(`catch-up under load: ${JSON.stringify(result)}`);
    // 4 MB lacked plus 240 KB proposed meanwhile. Before flow control every heartbeat answer
    // resent a 1 MiB probe: 15.8 MB went out and the link reset twice under the backlog.
    expect(result.lacked).toBeGreaterThan(4_000_000);
    expect(result.sent).toBeLessThanOrEqual(2 * result.lacked);
    expect(result.resets).toBe(0);
  });

  it("does not resend a probe while it is unacknowledged, however many heartbeats are answered", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const leader = net.get("n1").node;
    net.isolate("n3");
    for (let i = 0; i < 50; i++) leader.propose(new Uint8Array(ENTRY_BYTES));
    net.stabilize();
    net.heal();
    // Hold back n3's append acknowledgements (a slow disk) but let its heartbeat answers through.
    const held: Message[] = [];
    const holdAcks = (m: Message): boolean => {
      if (m.from === "n3" && m.type === "appendResp" && !m.reject) {
        held.push(m);
        return false;
      }
      return true;
    };
    const appendsToN3: AppendRequest[] = [];
    const record = (m: Message): boolean => {
      if (m.type === "append" && m.to === "n3") appendsToN3.push(m);
      return holdAcks(m);
    };
    // A few heartbeats: the first answer makes n1 probe n3; later answers must not resend it.
    net.tickAll(20, record);
    const withEntries = appendsToN3.filter((m) => m.entries.length > 0);
    expect(leader.status().progress!.n3.state).toBe("probe");
    expect(withEntries.length).toBe(1);
    // Once the acknowledgement arrives, n3 catches up.
    for (const m of held) net.get("n1").node.step(m);
    net.stabilize();
    expect(leader.status().progress!.n3.match).toBe(leader.status().lastIndex);
  });

  it("sends a probing follower the snapshot when it is smaller than the entries it lacks", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const leader = net.get("n1");
    net.isolate("n3");
    for (let i = 0; i < 40; i++) leader.node.propose(new Uint8Array(ENTRY_BYTES));
    net.stabilize();
    // A snapshot far smaller than the 8 KB of entries after n3's log; the log is kept (no
    // compaction), so the entries could still be sent.
    const status = leader.node.status();
    leader.storage.createSnapshot(status.applied, status.confState, new Uint8Array(100).fill(7));
    const sent: Message[] = [];
    net.heal();
    net.tickAll(3, (m) => {
      if (m.to === "n3" && (m.type === "append" || m.type === "snapshot")) sent.push(m);
      return true;
    });
    const n3 = net.get("n3");
    expect(n3.installedSnapshots).toEqual([status.applied]);
    const entryBytes = sent.reduce(
      (sum, m) => sum + (m.type === "append" ? entriesBytes(m.entries) : 0),
      0,
    );
    expect(entryBytes).toBeLessThan(ENTRY_BYTES);
    expect(leader.node.status().progress!.n3.match).toBe(leader.node.status().lastIndex);
  });

  it("keeps sending entries when they are smaller than the snapshot", () => {
    const net = new Network(["n1", "n2", "n3"]);
    net.elect("n1");
    const leader = net.get("n1");
    net.isolate("n3");
    for (let i = 0; i < 5; i++) leader.node.propose(new Uint8Array(ENTRY_BYTES));
    net.stabilize();
    const status = leader.node.status();
    leader.storage.createSnapshot(status.applied, status.confState, new Uint8Array(10_000));
    net.heal();
    net.tickAll(3);
    expect(net.get("n3").installedSnapshots).toEqual([]);
    expect(leader.node.status().progress!.n3.match).toBe(leader.node.status().lastIndex);
  });
});
