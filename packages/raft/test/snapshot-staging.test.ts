// A follower hands a leader's snapshot to the host's staging a chunk at a time and keeps only
// offsets: what reaches the staging is exactly the snapshot's bytes, in order, once each.
import { describe, expect, it } from "vitest";
import { MemoryStorage, RawNode } from "../src/index.js";
import type {
  Message,
  SnapshotChunk,
  SnapshotMetadata,
  SnapshotResponse,
  SnapshotStaging,
} from "../src/index.js";

const VOTERS = { voters: ["n1", "n2", "n3"], learners: [] };
const META: SnapshotMetadata = { index: 50, term: 2, confState: VOTERS };
const DATA = new Uint8Array(10).map((_, i) => i + 1);

/** A staging that records what the core does with it; its bytes are what was appended. */
class RecordingStaging implements SnapshotStaging {
  readonly appended: number[][] = [];
  bytesCalls = 0;
  discarded = false;
  /** What backlogged() answers: the test plays a disk that falls behind and catches up. */
  behind = false;
  private readonly buffer: Uint8Array;
  private used = 0;

  constructor(readonly totalBytes: number) {
    this.buffer = new Uint8Array(totalBytes);
  }

  append(bytes: Uint8Array): void {
    if (this.discarded) throw new Error("append after discard");
    this.appended.push([...bytes]);
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  bytes(): Uint8Array {
    this.bytesCalls++;
    return this.buffer;
  }

  discard(): void {
    this.discarded = true;
  }

  backlogged(): boolean {
    return this.behind;
  }
}

function follower(check?: (bytes: number[]) => string | null) {
  const stagings: RecordingStaging[] = [];
  const node = new RawNode(
    {
      id: "n3",
      random: () => 0.5,
      snapshotStaging: (metadata, totalBytes) => {
        expect(metadata).toEqual(META);
        const staging = new RecordingStaging(totalBytes);
        stagings.push(staging);
        return staging;
      },
      ...(check === undefined
        ? {}
        : {
            snapshotCheck: () => {
              const seen: number[] = [];
              return { update: (b: Uint8Array) => seen.push(...b), problem: () => check(seen) };
            },
          }),
    },
    new MemoryStorage(VOTERS),
  );
  return { node, stagings };
}

function chunk(offset: number, length: number, data: Uint8Array = DATA): SnapshotChunk {
  const end = Math.min(offset + length, data.length);
  return {
    type: "snapshot",
    from: "n1",
    to: "n3",
    term: 2,
    metadata: META,
    offset,
    data: data.slice(offset, end),
    totalBytes: data.length,
    done: end === data.length,
  };
}

/** The snapshot answers the node sent since the last call (before and after persisting). */
function answers(node: RawNode): Array<Pick<SnapshotResponse, "nextOffset" | "done" | "reject">> {
  const out: Array<Pick<SnapshotResponse, "nextOffset" | "done" | "reject">> = [];
  while (node.hasReady()) {
    const ready = node.ready();
    const all: Message[] = [...ready.messages, ...ready.messagesAfterPersist];
    for (const m of all) {
      if (m.type === "snapshotResp")
        out.push({ nextOffset: m.nextOffset, done: m.done, reject: m.reject });
    }
    node.advance(ready);
  }
  return out;
}

describe("snapshot staging", () => {
  it("hands each accepted chunk to the staging in order and the Ready carries the staging's bytes", () => {
    const { node, stagings } = follower();
    node.step(chunk(0, 4));
    node.step(chunk(4, 4));
    node.step(chunk(8, 4));
    const ready = node.ready();
    expect(stagings).toHaveLength(1);
    const staging = stagings[0]!;
    expect(staging.appended).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ]);
    expect(staging.bytesCalls).toBe(1);
    expect(ready.snapshot?.metadata).toEqual(META);
    expect(ready.snapshot?.data).toBe(staging.bytes());
    expect(staging.discarded).toBe(false);
  });

  it("never passes a duplicate or out-of-order chunk on: it asks for the offset it expects", () => {
    const { node, stagings } = follower();
    node.step(chunk(0, 4));
    node.step(chunk(0, 4)); // duplicate
    node.step(chunk(8, 4)); // gap
    node.step(chunk(4, 4));
    node.step(chunk(4, 4)); // duplicate of the last accepted
    node.step(chunk(8, 4));
    const sent = answers(node);
    expect(stagings).toHaveLength(1);
    expect(stagings[0]!.appended.flat()).toEqual([...DATA]);
    expect(sent.map((a) => a.nextOffset)).toEqual([4, 4, 4, 8, 8, 10]);
    expect(sent.at(-1)).toEqual({ nextOffset: 10, done: true, reject: false });
  });

  it("holds its answer while the staging is behind, even to a resent chunk, until it drained", () => {
    const { node, stagings } = follower();
    node.step(chunk(0, 4));
    expect(answers(node).map((a) => a.nextOffset)).toEqual([4]);
    stagings[0]!.behind = true;
    node.step(chunk(4, 4));
    expect(answers(node)).toEqual([]);
    // The leader resends what it has no answer for: accepted already, and still not answered.
    node.step(chunk(4, 4));
    node.step(chunk(0, 4));
    expect(answers(node)).toEqual([]);
    expect(stagings[0]!.appended.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // A wake-up while the staging is still behind answers nothing.
    node.snapshotStagingDrained();
    expect(answers(node)).toEqual([]);
    stagings[0]!.behind = false;
    node.snapshotStagingDrained();
    expect(answers(node)).toEqual([{ nextOffset: 8, done: false, reject: false }]);
    // Answered once: a second wake-up sends nothing more.
    node.snapshotStagingDrained();
    expect(answers(node)).toEqual([]);
    // The last chunk completes the transfer whatever the staging says: the install waits for
    // its bytes to be written anyway.
    stagings[0]!.behind = true;
    node.step(chunk(8, 4));
    expect(answers(node)).toEqual([{ nextOffset: 10, done: true, reject: false }]);
  });

  it("refuses a chunk past the announced size and discards what it staged", () => {
    const { node, stagings } = follower();
    node.step(chunk(0, 4));
    node.step({ ...chunk(4, 4), data: new Uint8Array(7) }); // 4 + 7 > 10
    const sent = answers(node);
    expect(sent.at(-1)).toEqual({ nextOffset: 0, done: false, reject: true });
    expect(stagings[0]!.appended.flat()).toEqual([1, 2, 3, 4]);
    expect(stagings[0]!.discarded).toBe(true);
  });

  it("discards a transfer that restarts, and a completed one whose check fails", () => {
    const { node, stagings } = follower((seen) => (seen[9] === 10 ? null : "checksum mismatch"));
    node.step(chunk(0, 4));
    node.step(chunk(0, 4, new Uint8Array(12))); // another transfer (a different size): restarted
    expect(stagings).toHaveLength(2);
    expect(stagings[0]!.discarded).toBe(true);
    const forged = DATA.slice();
    forged[9] = 99;
    const torn = follower((seen) => (seen[9] === 10 ? null : "checksum mismatch"));
    torn.node.step(chunk(0, 8, forged));
    torn.node.step(chunk(8, 8, forged));
    const sent = answers(torn.node);
    expect(sent.at(-1)).toEqual({ nextOffset: 0, done: false, reject: true });
    expect(torn.stagings[0]!.discarded).toBe(true);
    expect(torn.node.hasReady()).toBe(false);
  });

  it("discards a completed snapshot its log already covers: nothing to install", () => {
    const { node, stagings } = follower();
    node.step(chunk(0, 10));
    answers(node);
    // The same snapshot again: committed now, answered done at once, with no new staging.
    node.step(chunk(0, 10));
    expect(answers(node).at(-1)).toEqual({ nextOffset: 10, done: true, reject: false });
    expect(stagings).toHaveLength(1);
    expect(stagings[0]!.discarded).toBe(false);
  });
});
