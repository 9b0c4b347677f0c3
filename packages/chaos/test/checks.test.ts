import { describe, expect, it } from "vitest";
import { checkAcknowledged, checkFencing, checkMutualExclusion } from "../src/checks.js";
import { History } from "../src/history.js";
import type { GrantRecord } from "../src/history.js";

function grant(
  history: History,
  client: string,
  token: number,
  grantedMs: number,
  believedUntilMs: number | null,
): GrantRecord {
  const g: GrantRecord = {
    client,
    key: "k",
    value: `${client}-${token}`,
    token,
    sentMs: grantedMs - 1,
    grantedMs: history.startMs + grantedMs,
    believedUntilMs: believedUntilMs === null ? null : history.startMs + believedUntilMs,
    end: believedUntilMs === null ? "running" : "released",
  };
  history.grants.push(g);
  return g;
}

describe("chaos checks", () => {
  it("accept successive grants whose beliefs do not overlap", () => {
    const h = new History();
    grant(h, "a", 10, 0, 100);
    grant(h, "b", 12, 100, 200);
    grant(h, "c", 15, 250, null);
    expect(checkMutualExclusion(h, h.startMs + 300).violations).toEqual([]);
    expect(checkFencing(h).violations).toEqual([]);
  });

  it("flag a grant made while an earlier holder still believed in its lock", () => {
    const h = new History();
    grant(h, "a", 10, 0, 150);
    grant(h, "b", 12, 100, 200);
    const result = checkMutualExclusion(h, h.startMs + 300);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain("a (token 10)");
  });

  it("flag an overlap hidden behind a shorter grant in between", () => {
    const h = new History();
    grant(h, "a", 10, 0, 1_000);
    grant(h, "b", 12, 100, 150);
    grant(h, "c", 14, 500, 600);
    expect(checkMutualExclusion(h, h.startMs + 2_000).violations).toHaveLength(2);
  });

  it("flag a token that does not increase after an ended grant", () => {
    const h = new History();
    grant(h, "a", 10, 0, 100);
    grant(h, "b", 9, 200, 300);
    expect(checkFencing(h).violations).toHaveLength(1);
  });

  it("flag a rejected write of a writer that believed its lock valid", () => {
    const h = new History();
    h.writes.push({
      client: "a",
      key: "k",
      token: 3,
      atMs: h.startMs,
      accepted: false,
      believedValid: true,
    });
    h.writes.push({
      client: "b",
      key: "k",
      token: 2,
      atMs: h.startMs,
      accepted: false,
      believedValid: false,
    });
    expect(checkFencing(h).violations).toHaveLength(1);
  });

  it("flag a get that shows a grant after its release was acknowledged", () => {
    const h = new History();
    const release = h.begin("release", "a", "k", "a-1");
    h.end(release, "ok", 7, "released");
    const read = h.begin("get", "b", "k", "");
    h.end(read, "ok", 7, "a-1@7");
    expect(checkAcknowledged(h).violations).toHaveLength(1);
    const fine = new History();
    const read2 = fine.begin("get", "b", "k", "");
    fine.end(read2, "ok", 7, "a-1@7");
    expect(checkAcknowledged(fine).violations).toEqual([]);
  });

  it("write a readable timeline", () => {
    const h = new History();
    grant(h, "a", 10, 0, 100);
    h.fault("kill -9 n1");
    const request = {
      type: "acquire" as const,
      id: 1,
      key: "k",
      value: "b-1",
      ttlMs: 500,
      requestId: "b/1.0",
    };
    for (const notApplied of [true, false]) {
      const error = { code: "NOT_LEADER" as const, message: "not the leader", notApplied };
      h.wire.push({
        id: h.wire.length,
        client: notApplied ? "b" : "c",
        key: "k",
        request,
        invokeMs: h.now(),
        returnMs: h.now(),
        response: { type: "error", id: 1, error },
      });
    }
    const text = h.timeline();
    expect(text).toContain("FAULT   kill -9 n1");
    expect(text).toContain("GRANT   a k token=10");
    // Whether a NOT_LEADER may still take effect decides how the checks read it.
    expect(text).toMatch(/wire {2}b acquire k b-1 → +[\d.]+ NOT_LEADER \(not applied\)\n/);
    expect(text).toMatch(/wire {2}c acquire k b-1 → +[\d.]+ NOT_LEADER\n/);
  });
});
