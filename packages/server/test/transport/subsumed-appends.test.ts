import { describe, expect, it } from "vitest";
import type { AppendRequest, Entry, Message } from "@dlock/raft";
import { dropSubsumedAppends } from "../../src/transport/subsumed-appends.js";

const entry = (index: number): Entry => ({
  index,
  term: 2,
  kind: "normal",
  data: new Uint8Array([index]),
});

function append(prevIndex: number, commit: number, entries: Entry[] = [], term = 2): AppendRequest {
  return { type: "append", from: "n1", to: "n2", term, prevIndex, prevTerm: 2, commit, entries };
}

const heartbeat: Message = {
  type: "heartbeat",
  from: "n1",
  to: "n2",
  term: 2,
  commit: 5,
  readContext: 0,
};

describe("dropSubsumedAppends", () => {
  it("drops the held commit-index append that the next entries' append after the same position carries", () => {
    const empty = append(10, 10);
    const next = append(10, 10, [entry(11)]);
    expect(dropSubsumedAppends([empty, next])).toEqual([next]);
  });

  it("keeps the order of everything else, and drops each subsumed empty append of a run", () => {
    const first = append(10, 9);
    const second = append(10, 10);
    const next = append(10, 10, [entry(11), entry(12)]);
    const after = append(12, 10);
    expect(dropSubsumedAppends([first, heartbeat, second, next, after])).toEqual([
      heartbeat,
      next,
      after,
    ]);
  });

  it("keeps an empty append the next one does not subsume", () => {
    const cases: [AppendRequest, AppendRequest][] = [
      [append(10, 10), append(11, 10, [entry(12)])], // another position: another log check
      [append(10, 10), append(10, 9, [entry(11)])], // a lower commit index
      [append(10, 10), append(10, 10, [entry(11)], 3)], // another term's leader
      [append(10, 10), { ...append(10, 10, [entry(11)]), prevTerm: 1 }],
    ];
    for (const messages of cases) {
      const kept = dropSubsumedAppends(messages);
      expect(kept).toBe(messages);
      expect(kept).toHaveLength(2);
    }
  });

  it("never drops an append that carries entries, nor the last empty one", () => {
    const withEntries = append(10, 10, [entry(11)]);
    const same = append(10, 10, [entry(11)]);
    const messages = [withEntries, same, append(11, 11)];
    expect(dropSubsumedAppends(messages)).toBe(messages);
    expect(dropSubsumedAppends([heartbeat])).toEqual([heartbeat]);
    expect(dropSubsumedAppends([])).toEqual([]);
  });
});
