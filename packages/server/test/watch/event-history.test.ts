import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LockEvent } from "@dlock/server/lock";
import { EventHistory } from "../../src/watch/event-history.js";
import type { HistoryRead } from "../../src/watch/event-history.js";
import { propertySeed } from "../lock/helpers.js";

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

  it("keeps each event's key and value when its ring grows after dropping the oldest", () => {
    // 20 events at most in a ring of 16 slots at first: with revisions of 1 and of 5 events, the
    // oldest are dropped before the ring has grown to 20, so it grows while its oldest event is
    // not at slot 0 (keys kept by ring slot would then come back under the wrong events).
    const h = new EventHistory(20, 0);
    const expected: LockEvent[] = [];
    for (let revision = 1; revision <= 60; revision++) {
      const events =
        revision % 7 === 0
          ? [1, 2, 3, 4, 5].map((n) => ev(revision, `k${revision}-${n}`, `v${revision}-${n}`))
          : [ev(revision, `k${revision}`, `значение-${revision}`)];
      h.append(revision, events);
      expected.push(...events);
      while (expected.length > 20) {
        const oldest = expected[0]!.revision;
        while (expected[0]?.revision === oldest) expected.shift();
      }
      expect(h.read(h.floor + 1, all, 100)?.events).toEqual(expected);
    }
  });

  it("stays bounded over a long run", () => {
    const h = new EventHistory(50, 0);
    for (let r = 1; r <= 10_000; r++) h.append(r, [ev(r, `k${r % 7}`)]);
    expect(h.size).toBe(50);
    expect(h.floor).toBe(9950);
    expect(h.read(9951, all, 1000)!.events.map((e) => e.revision)[0]).toBe(9951);
  });

  it("reads as a plain list of the events would, through wrap-around, growth and resets", () => {
    const seed = propertySeed("EventHistory against a list");
    const types = ["granted", "released", "expired", "queued", "dequeued", "delayEnded"] as const;
    const event = fc.record({
      type: fc.constantFrom(...types),
      // Keys and values of one and two bytes a code unit, and of different sizes.
      key: fc.constantFrom("a/1", "a/2", "b/1", "a/ключ-1", "b/long-key-of-some-length"),
      value: fc.option(fc.constantFrom("x", "y", "значение"), { nil: null }),
      token: fc.nat(50),
      extra: fc.nat(4),
    });
    const step = fc.record({
      skip: fc.nat(20), // 0: the next revision is skipped (a snapshot install)
      events: fc.array(event, { maxLength: 5 }),
      from: fc.oneof(fc.nat(8), fc.nat(80)),
      eventsMax: fc.integer({ min: 1, max: 6 }),
      prefix: fc.constantFrom("", "a/", "b/1"),
    });
    fc.assert(
      fc.property(
        // Past RING_SLOTS_FIRST (16) too, so that the ring grows while it holds events.
        fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 17, max: 70 })),
        fc.array(step, { maxLength: 80 }),
        (max, steps) => {
          const history = new EventHistory(max, 0);
          const model = new ListHistory(max);
          let revision = 0;
          for (const s of steps) {
            revision += s.skip === 0 ? 3 : 1;
            const events = s.events.map((e): LockEvent => {
              const out: LockEvent = {
                revision,
                type: e.type,
                key: e.key,
                value: e.value,
                token: e.token,
              };
              if (e.extra === 1) out.reason = "cancelled";
              if (e.extra === 2) out.mode = "read";
              if (e.extra === 3) Object.assign(out, { permits: 3, count: 2 });
              return out;
            });
            history.append(revision, events);
            model.append(revision, events);
            expect(history.size).toBe(model.size);
            expect(history.floor).toBe(model.floor);
            const from = Math.max(1, revision - s.from);
            const matches = (key: string): boolean => key.startsWith(s.prefix);
            expect(history.read(from, matches, s.eventsMax)).toEqual(
              model.read(from, matches, s.eventsMax),
            );
          }
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});

/** The history as a plain list of events (as EventHistory was before its ring): the model. */
class ListHistory {
  private events: LockEvent[] = [];
  floor = 0;
  private applied = 0;
  constructor(private readonly eventsMax: number) {}
  get size(): number {
    return this.events.length;
  }
  append(revision: number, events: readonly LockEvent[]): void {
    if (revision !== this.applied + 1) {
      this.events = [];
      this.floor = revision - 1;
    }
    this.applied = revision;
    this.events.push(...events);
    while (this.events.length > this.eventsMax) {
      const dropped = this.events[0]!.revision;
      this.events = this.events.filter((e) => e.revision !== dropped);
      this.floor = dropped;
    }
  }
  read(from: number, matches: (key: string) => boolean, eventsMax: number): HistoryRead | null {
    if (from <= this.floor) return null;
    const out: LockEvent[] = [];
    for (const e of this.events) {
      if (e.revision < from || !matches(e.key)) continue;
      if (out.length >= eventsMax && out[out.length - 1]!.revision !== e.revision)
        return { events: out, revision: e.revision - 1 };
      out.push(e);
    }
    return { events: out, revision: Math.max(this.applied, from - 1) };
  }
}
