import { describe, expect, it } from "vitest";
import type { Entry, Message, NodeId } from "@dlock/raft";
import { AppendPacer } from "../../src/host/append-pacer.js";

let nextIndex = 1;
function append(to: NodeId, entryBytesEach: number[]): Message {
  const entries: Entry[] = entryBytesEach.map((bytes) => ({
    index: nextIndex++,
    term: 1,
    kind: "normal",
    data: new Uint8Array(bytes),
  }));
  return { type: "append", from: "n1", to, term: 1, prevIndex: 0, prevTerm: 0, entries, commit: 0 };
}
const heartbeat = (to: NodeId): Message => ({
  type: "heartbeat",
  from: "n1",
  to,
  term: 1,
  commit: 0,
  readContext: 0,
});
function entryBytesTo(messages: readonly Message[], to: NodeId): number {
  let bytes = 0;
  for (const m of messages) {
    if (m.to !== to || m.type !== "append") continue;
    for (const entry of m.entries) bytes += entry.data.byteLength;
  }
  return bytes;
}

describe("AppendPacer", () => {
  it("hands over the messages themselves while every follower is within its budget", () => {
    const pacer = new AppendPacer(1000);
    const messages = [append("n2", [100, 100]), heartbeat("n3"), append("n3", [100])];
    expect(pacer.admit(messages)).toBe(messages);
    expect(pacer.holding()).toBe(false);
  });

  it("holds a follower's appends past its budget for later turns, at most the budget per turn, in order", () => {
    const pacer = new AppendPacer(300);
    // 10 appends of 2 × 100 bytes to n2, one to n3, a heartbeat to n2 after them.
    const toN2 = Array.from({ length: 10 }, () => append("n2", [100, 100]));
    const sent: Message[][] = [[...pacer.admit([...toN2, append("n3", [100]), heartbeat("n2")])]];
    while (pacer.holding()) sent.push([...pacer.nextTurn()]);
    // 200 bytes per turn fit a 300-byte budget (a second append would make 400).
    for (const turn of sent) expect(entryBytesTo(turn, "n2")).toBeLessThanOrEqual(300);
    expect(sent).toHaveLength(10);
    // n3 is never held behind n2; n2's heartbeat stays behind n2's appends.
    expect(sent[0]!.map((m) => m.to)).toEqual(["n2", "n3"]);
    const n2 = sent.flat().filter((m) => m.to === "n2");
    expect(n2).toEqual([...toN2, heartbeat("n2")]);
  });

  it("holds everything for a follower behind what it holds, heartbeats too, until a turn releases it", () => {
    const pacer = new AppendPacer(100);
    expect(pacer.admit([append("n2", [100]), append("n2", [100])])).toHaveLength(1);
    expect(pacer.admit([heartbeat("n2"), heartbeat("n3")]).map((m) => m.to)).toEqual(["n3"]);
    const next = pacer.nextTurn();
    expect(next.map((m) => m.type)).toEqual(["append", "heartbeat"]);
    expect(pacer.holding()).toBe(false);
  });

  it("lets one append larger than the budget through at the start of a turn", () => {
    const pacer = new AppendPacer(100);
    const big = append("n2", [5000]);
    expect(pacer.admit([big])).toEqual([big]);
    expect(pacer.admit([append("n2", [1])])).toEqual([]);
    expect(pacer.nextTurn()).toHaveLength(1);
  });
});
