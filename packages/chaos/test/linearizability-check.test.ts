import { describe, expect, it } from "vitest";
import { checkLinearizable } from "@dlock/testkit";
import type { WireOp } from "@dlock/testkit";
import { History } from "../src/history.js";
import { splitAtPins } from "../src/history-segments.js";
import {
  chaosLockModel,
  checkLinearizability,
  wireHistoriesByKey,
} from "../src/linearizability-check.js";

type Answer = { ok: Record<string, unknown> } | { error: string; notApplied?: boolean } | null;

/** A request on the wire for key "k"; `answer` null: none reached the client. */
function wire(
  h: History,
  request: Record<string, unknown> & { type: string },
  invokeMs: number,
  returnMs: number | null,
  answer: Answer,
): void {
  const id = h.wire.length + 1;
  const response =
    answer === null
      ? null
      : "ok" in answer
        ? { type: "ok" as const, id, result: answer.ok }
        : {
            type: "error" as const,
            id,
            error: { code: answer.error, message: answer.error, notApplied: answer.notApplied },
          };
  h.wire.push({
    id,
    client: String(request.value ?? "reader"),
    key: "k",
    request: { id, key: "k", ...request } as unknown as WireOp["request"],
    invokeMs,
    returnMs: answer === null ? null : returnMs,
    response: response as WireOp["response"],
  });
}

const acquire = (value: string) => ({ type: "acquire", value, ttlMs: 1000, requestId: value });
const granted = (token: number) => ({ ok: { fencingToken: token, ttlMs: 1000, waitedMs: 0 } });
const busy = { error: "LOCK_BUSY" };
const release = (value: string, token: number) => ({ type: "release", value, token });
const get = { type: "get" };
const held = (value: string, token: number) => ({
  ok: { held: true, value, fencingToken: token, ttlRemainingMs: 500, waiters: 0 },
});
const free = { ok: { held: false, value: null, fencingToken: null, waiters: 0 } };

describe("chaos linearizability check (every request on the wire)", () => {
  it("accepts a history where an expiry explains a later grant", () => {
    const h = new History();
    wire(h, acquire("a"), 0, 10, granted(5));
    wire(h, acquire("b"), 20, 30, busy);
    // a never released: its lease expired inside the cluster, then b got the key.
    wire(h, acquire("b"), 5_000, 5_010, granted(9));
    wire(h, get, 5_020, 5_030, held("b", 9));
    expect(checkLinearizability(h).violations).toEqual([]);
  });

  it("flags a read that sees a grant after its acknowledged release", () => {
    const h = new History();
    wire(h, acquire("a"), 0, 10, granted(5));
    wire(h, release("a", 5), 20, 30, { ok: { released: true } });
    wire(h, get, 40, 50, held("a", 5));
    const result = checkLinearizability(h);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain("longest linearizable prefix");
  });

  it("flags LOCK_BUSY on a key nobody could hold", () => {
    const h = new History();
    wire(h, acquire("a"), 0, 10, granted(5));
    wire(h, release("a", 5), 20, 30, { ok: { released: true } });
    wire(h, acquire("b"), 40, 50, busy);
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("flags a token that goes backwards", () => {
    const h = new History();
    wire(h, acquire("a"), 0, 10, granted(5));
    wire(h, release("a", 5), 20, 30, { ok: { released: true } });
    wire(h, acquire("b"), 40, 50, granted(4));
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("lets an unanswered acquire take effect or not", () => {
    const h = new History();
    wire(h, acquire("a"), 0, null, null);
    wire(h, get, 20, 30, held("a", 7));
    wire(h, get, 40, 50, free);
    expect(checkLinearizability(h).violations).toEqual([]);
  });

  it("accepts a lock() call that ends LOCK_BUSY after its first request was granted unseen", () => {
    // The case a check of whole lock() calls gets wrong: a's first request is granted but the
    // answer is lost; the grant expires while a retries; b takes the key; a's retry is busy.
    const h = new History();
    wire(h, acquire("a"), 0, null, null);
    wire(h, acquire("c"), 100, 110, busy); // only a can be the holder here
    wire(h, get, 120, 130, held("a", 3));
    wire(h, acquire("b"), 2_000, 2_010, granted(8));
    wire(h, acquire("a"), 2_100, 2_110, busy);
    expect(checkLinearizability(h).violations).toEqual([]);
  });

  it("still flags a grant to one value seen while another holds", () => {
    const h = new History();
    wire(h, acquire("a"), 0, null, null);
    wire(h, get, 120, 130, held("a", 3));
    wire(h, acquire("b"), 140, 150, granted(8));
    wire(h, get, 160, 170, held("a", 3));
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("treats an unclear answer (NOT_LEADER after a proposal) as possibly applied", () => {
    const h = new History();
    wire(h, acquire("a"), 0, 10, { error: "NOT_LEADER" });
    wire(h, acquire("b"), 20, 30, busy);
    expect(checkLinearizability(h).violations).toEqual([]);
  });

  it("does not spend its steps on expiries and releases of grants later grants superseded", () => {
    // Each holder's release went unanswered, so its grant ended by that release or by expiry:
    // whichever did not happen stays an operation of unknown outcome for the rest of the run.
    const h = new History();
    const rounds = 300;
    for (let i = 0; i < rounds; i++) {
      const at = i * 100;
      wire(h, acquire(`v${i}`), at, at + 10, granted(i + 1));
      wire(h, release(`v${i}`, i + 1), at + 20, null, null);
      wire(h, acquire(`w${i}`), at + 30, at + 40, busy);
    }
    wire(h, acquire("x"), rounds * 100, rounds * 100 + 10, granted(rounds + 1));
    // Linear in the rounds: each superseded grant is out of the search, not tried at every step.
    const result = checkLinearizability(h, 20 * rounds);
    expect(result.violations).toEqual([]);
    expect(result.undecidedKeys).toEqual([]);
    expect(result.keys).toBe(1);
    expect(result.steps).toBeGreaterThanOrEqual(rounds * 3);
    expect(result.steps).toBeLessThanOrEqual(20 * rounds);
    // ...and the same history with a token that goes backwards is still refuted.
    wire(h, get, rounds * 100 + 20, rounds * 100 + 30, held(`v${rounds - 1}`, rounds));
    expect(checkLinearizability(h, 20 * rounds).violations).toHaveLength(1);
  });

  it("drops an order at once when it leaves an answered read no grant to see", () => {
    // Acquires that got no answer may take effect whenever the key is free; then a read
    // concurrent with the holder's release and the next grant must come before both.
    const h = new History();
    const unanswered = 40;
    for (let i = 0; i < unanswered; i++) wire(h, acquire(`u${i}`), i, null, null);
    for (let round = 0; round < 5; round++) {
      const at = 1_000 + round * 100;
      const token = 100 + 2 * round;
      wire(h, acquire(`a${round}`), at, at + 10, granted(token));
      wire(h, release(`a${round}`, token), at + 20, at + 40, { ok: { released: true } });
      wire(h, acquire(`b${round}`), at + 21, at + 41, granted(token + 1));
      wire(h, acquire(`c${round}`), at + 22, at + 42, busy);
      wire(h, get, at + 23, at + 39, held(`a${round}`, token));
      wire(h, release(`b${round}`, token + 1), at + 50, at + 60, { ok: { released: true } });
    }
    const result = checkLinearizability(h, 20_000);
    expect(result.undecidedKeys).toEqual([]);
    expect(result.violations).toEqual([]);
    // A read after all that which sees the first round's grant again is refuted, not undecided.
    wire(h, get, 2_000, 2_010, held("a0", 100));
    const stale = checkLinearizability(h, 20_000);
    expect(stale.undecidedKeys).toEqual([]);
    expect(stale.violations).toHaveLength(1);
    expect(stale.violations[0]).toContain("get → held by a0, token 100");
  });

  it("takes a NOT_LEADER that says the request was never applied at its word", () => {
    const h = new History();
    wire(h, acquire("a"), 0, 10, { error: "NOT_LEADER", notApplied: true });
    wire(h, acquire("b"), 20, 30, busy); // nobody can hold the key
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("does not let an unanswered acquire take effect twice across a cut", () => {
    // u's acquire got no answer: it may take effect once, at any time. b's LOCK_BUSY needs it
    // (the key is free otherwise), so d's LOCK_BUSY, after c's grant and release, has no holder.
    // A split that offered u again to every later segment would accept this history.
    const build = (spare: boolean) => {
      const h = new History();
      wire(h, acquire("u"), 0, null, null);
      wire(h, acquire("a"), 10, 20, granted(5));
      wire(h, release("a", 5), 30, 40, { ok: { released: true } });
      wire(h, acquire("b"), 50, 60, busy);
      wire(h, acquire("c"), 100, 110, granted(9));
      wire(h, release("c", 9), 120, 130, { ok: { released: true } });
      if (spare) wire(h, acquire("v"), 115, null, null); // a second unanswered acquire
      wire(h, acquire("d"), 140, 150, busy);
      return h;
    };
    const h = build(false);
    // The pins (a's grant and release, c's grant and release) do cut it...
    const ops = wireHistoriesByKey(h.wire).get("k")!;
    expect(splitAtPins(ops).map((s) => s.known.length)).toEqual([1, 1, 2, 1, 1]);
    // ...yet u is used once: the history is refuted.
    const result = checkLinearizability(h);
    expect(result.undecidedKeys).toEqual([]);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain("acquire by d → busy");
    // With a second unanswered acquire to explain d's LOCK_BUSY, the same history is accepted.
    const spared = checkLinearizability(build(true));
    expect(spared.violations).toEqual([]);
    expect(spared.undecidedKeys).toEqual([]);
  });

  it("does not cut at an answer that overlaps another", () => {
    // b's grant overlaps a's release: the release is no pin, though its answer fixes the state.
    const h = new History();
    wire(h, acquire("a"), 0, 10, granted(5));
    wire(h, release("a", 5), 20, 100, { ok: { released: true } });
    wire(h, acquire("b"), 50, 60, granted(6));
    wire(h, get, 55, 58, held("a", 5)); // a still held the key here: the release came later
    wire(h, get, 120, 130, held("b", 6));
    const ops = wireHistoriesByKey(h.wire).get("k")!;
    expect(splitAtPins(ops).map((s) => s.known.length)).toEqual([1, 4, 0]);
    expect(checkLinearizability(h).violations).toEqual([]);
  });

  it("lets an unanswered acquire commit segments later, where a read sees it", () => {
    // x's request got no answer; long after, with grants and releases in between (pins), a read
    // sees x holding: the request committed late. Unanswered acquires named by nothing are
    // searched as one interchangeable class; this one is named and must keep its value.
    const h = new History();
    wire(h, acquire("x"), 0, null, null);
    wire(h, acquire("a"), 10, 20, granted(5));
    wire(h, release("a", 5), 30, 40, { ok: { released: true } });
    wire(h, acquire("y"), 45, null, null);
    wire(h, acquire("b"), 50, 60, granted(7));
    wire(h, release("b", 7), 70, 80, { ok: { released: true } });
    wire(h, acquire("c"), 90, 100, busy); // x or y holds
    wire(h, get, 110, 120, held("x", 9));
    wire(h, get, 130, 140, free);
    wire(h, acquire("d"), 150, 160, busy); // y holds: the last unanswered acquire
    wire(h, acquire("e"), 170, 180, granted(12));
    const ops = wireHistoriesByKey(h.wire).get("k")!;
    expect(splitAtPins(ops).length).toBeGreaterThan(4);
    const result = checkLinearizability(h);
    expect(result.undecidedKeys).toEqual([]);
    expect(result.violations).toEqual([]);
    // One more LOCK_BUSY with nobody left to hold the key is refuted.
    wire(h, release("e", 12), 210, 220, { ok: { released: true } });
    wire(h, acquire("g"), 230, 240, busy);
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("decides a long history that one search over all of it cannot within the same budget", () => {
    // 200 acquires that never got an answer may take effect at any free moment, so one search
    // over the whole history tries each of them at every dead end (a read that sees the key free
    // while a grant overlaps it). Cut at the pins, each segment's search tries one.
    const h = new History();
    for (let i = 0; i < 200; i++) wire(h, acquire(`u${i}`), i, null, null);
    const rounds = 100;
    for (let r = 0; r < rounds; r++) {
      const at = 1_000 + r * 100;
      const token = 10 + 2 * r;
      wire(h, acquire(`a${r}`), at, at + 10, granted(token));
      wire(h, release(`a${r}`, token), at + 20, at + 40, { ok: { released: true } });
      wire(h, acquire(`b${r}`), at + 30, at + 50, granted(token + 1));
      wire(h, get, at + 35, at + 48, free); // between a's release and b's grant
      wire(h, get, at + 60, at + 70, held(`b${r}`, token + 1));
      wire(h, release(`b${r}`, token + 1), at + 80, at + 90, { ok: { released: true } });
    }
    const ops = wireHistoriesByKey(h.wire).get("k")!;
    const budget = 10 * ops.length;
    expect(checkLinearizable(chaosLockModel, ops, { stepBudget: budget }).outcome).toBe("unknown");
    const result = checkLinearizability(h, budget);
    expect(result.undecidedKeys).toEqual([]);
    expect(result.violations).toEqual([]);
    expect(result.segments).toBeGreaterThan(rounds);
    // A read of the last grant after its acknowledged release is still refuted, not undecided.
    const end = 1_000 + rounds * 100;
    wire(h, get, end, end + 10, held(`b${rounds - 1}`, 10 + 2 * (rounds - 1) + 1));
    const stale = checkLinearizability(h, budget);
    expect(stale.undecidedKeys).toEqual([]);
    expect(stale.violations).toHaveLength(1);
  });

  it("searches two segments again as one when the first used the unanswered acquire the next needs", () => {
    // b's LOCK_BUSY needs x or y to have committed; the first segment's search takes x (called
    // first), but a later read sees x holding, so y must have been the one. Failing with what
    // was left but passing with every earlier acquire on offer, the segments are merged.
    const h = new History();
    wire(h, acquire("x"), 0, null, null);
    wire(h, acquire("y"), 1, null, null);
    wire(h, acquire("a"), 10, 20, granted(5));
    wire(h, release("a", 5), 30, 40, { ok: { released: true } });
    wire(h, acquire("b"), 50, 60, busy);
    wire(h, acquire("c"), 100, 110, granted(9));
    wire(h, release("c", 9), 120, 130, { ok: { released: true } });
    wire(h, get, 140, 150, held("x", 12));
    wire(h, get, 160, 170, free);
    const result = checkLinearizability(h);
    expect(result.undecidedKeys).toEqual([]);
    expect(result.violations).toEqual([]);
    // Without y, x cannot both explain b's LOCK_BUSY and be seen holding after c's release.
    const withoutY = new History();
    for (const op of h.wire) if (op.key === "k" && op.client !== "y") withoutY.wire.push(op);
    expect(checkLinearizability(withoutY).violations).toHaveLength(1);
  });
});
