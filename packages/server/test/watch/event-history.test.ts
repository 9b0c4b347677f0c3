import { describe, expect, it } from "vitest";
import type { LockEvent } from "@dlock/server/lock";
import { EventHistory } from "../../src/watch/event-history.js";

const ev = (revision: number, key: string, value = "v"): LockEvent => ({
  revision,
  type: "granted",
  key,
  value,
  token: revision,
});
const all = (): boolean => true;

describe("EventHistory", () => {
  it("reads from a revision on, filtered, through the applied revision", () => {
    const h = new EventHistory(100, 10);
    h.append(11, [ev(11, "a/1")]);
    h.append(12, []);
    h.append(13, [ev(13, "b/1"), ev(13, "a/2")]);
    expect(h.read(11, all, 10)).toEqual({
      events: [ev(11, "a/1"), ev(13, "b/1"), ev(13, "a/2")],
      revision: 13,
    });
    expect(h.read(12, (k) => k.startsWith("a/"), 10)).toEqual({
      events: [ev(13, "a/2")],
      revision: 13,
    });
    expect(h.read(14, all, 10)).toEqual({ events: [], revision: 13 });
    // A watcher ahead of this node (it followed another leader) is not moved back.
    expect(h.read(20, all, 10)).toEqual({ events: [], revision: 19 });
  });

  it("never splits a revision and resumes without gap or duplicate", () => {
    const h = new EventHistory(100, 0);
    h.append(1, [ev(1, "a"), ev(1, "b")]);
    h.append(2, [ev(2, "c"), ev(2, "d")]);
    h.append(3, [ev(3, "e")]);
    const first = h.read(1, all, 1)!;
    expect(first).toEqual({ events: [ev(1, "a"), ev(1, "b")], revision: 1 });
    const second = h.read(first.revision + 1, all, 3)!;
    expect(second).toEqual({ events: [ev(2, "c"), ev(2, "d"), ev(3, "e")], revision: 3 });
    const third = h.read(2, all, 2)!;
    expect(third).toEqual({ events: [ev(2, "c"), ev(2, "d")], revision: 2 });
  });

  it("drops the oldest whole revisions past its bound and calls older reads compacted", () => {
    const h = new EventHistory(3, 0);
    h.append(1, [ev(1, "a"), ev(1, "b")]);
    h.append(2, [ev(2, "c")]);
    expect(h.size).toBe(3);
    h.append(3, [ev(3, "d")]);
    expect(h.size).toBe(2);
    expect(h.floor).toBe(1);
    expect(h.read(1, all, 10)).toBeNull();
    expect(h.read(2, all, 10)).toEqual({ events: [ev(2, "c"), ev(3, "d")], revision: 3 });
  });

  it("restarts after a skipped revision (snapshot install): what came before is compacted", () => {
    const h = new EventHistory(10, 0);
    h.append(1, [ev(1, "a")]);
    h.append(5, [ev(5, "b")]);
    expect(h.floor).toBe(4);
    expect(h.read(2, all, 10)).toBeNull();
    expect(h.read(5, all, 10)).toEqual({ events: [ev(5, "b")], revision: 5 });
  });

  it("stays bounded over a long run", () => {
    const h = new EventHistory(50, 0);
    for (let r = 1; r <= 10_000; r++) h.append(r, [ev(r, `k${r % 7}`)]);
    expect(h.size).toBe(50);
    expect(h.floor).toBe(9950);
    expect(h.read(9951, all, 1000)!.events.map((e) => e.revision)[0]).toBe(9951);
  });
});
