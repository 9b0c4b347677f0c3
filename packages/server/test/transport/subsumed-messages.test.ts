import { describe, expect, it } from "vitest";
import type { AppendRequest, AppendResponse, Entry, Message } from "@dlock/raft";
import { dropSubsumedMessages } from "../../src/transport/subsumed-messages.js";

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

function ack(index: number, term = 2, reject = false): AppendResponse {
  const hint = reject ? index - 1 : 0;
  return {
    type: "appendResp",
    from: "n2",
    to: "n1",
    term,
    reject,
    index,
    hintIndex: hint,
    hintTerm: 0,
  };
}

const heartbeatResp: Message = {
  type: "heartbeatResp",
  from: "n2",
  to: "n1",
  term: 2,
  readContext: 0,
};

describe("dropSubsumedMessages", () => {
  it("drops the held commit-index append that the next entries' append after the same position carries", () => {
    const empty = append(10, 10);
    const next = append(10, 10, [entry(11)]);
    expect(dropSubsumedMessages([empty, next])).toEqual([next]);
  });

  it("keeps the order of everything else, and drops each subsumed empty append of a run", () => {
    const first = append(10, 9);
    const second = append(10, 10);
    const next = append(10, 10, [entry(11), entry(12)]);
    const after = append(12, 10);
    expect(dropSubsumedMessages([first, heartbeat, second, next, after])).toEqual([
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
      const kept = dropSubsumedMessages(messages);
      expect(kept).toBe(messages);
      expect(kept).toHaveLength(2);
    }
  });

  it("never drops an append that carries entries, nor the last empty one", () => {
    const withEntries = append(10, 10, [entry(11)]);
    const same = append(10, 10, [entry(11)]);
    const messages = [withEntries, same, append(11, 11)];
    expect(dropSubsumedMessages(messages)).toBe(messages);
    expect(dropSubsumedMessages([heartbeat])).toEqual([heartbeat]);
    expect(dropSubsumedMessages([])).toEqual([]);
  });

  it("sends only the highest of a run of acknowledgments, keeping whatever lies between", () => {
    const messages = [ack(11), ack(14), heartbeatResp, ack(20), ack(20)];
    expect(dropSubsumedMessages(messages)).toEqual([heartbeatResp, messages[4]]);
  });

  it("keeps every rejection and never leaves out an acknowledgment across one", () => {
    const messages = [ack(11), ack(12, 2, true), ack(14), ack(13, 2, true), ack(13, 2, true)];
    expect(dropSubsumedMessages(messages)).toBe(messages);
  });

  it("keeps an acknowledgment that the next one does not cover: a lower index or another term", () => {
    for (const messages of [
      [ack(14), ack(12)],
      [ack(14), ack(15, 3)],
    ]) {
      expect(dropSubsumedMessages(messages)).toBe(messages);
    }
  });
});
