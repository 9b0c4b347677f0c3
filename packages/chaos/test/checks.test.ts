import { describe, expect, it } from "vitest";
import { checkAcknowledged, checkFencing, checkMutualExclusion } from "../src/checks.js";
import { FencedResource } from "@dlock/testkit";
import type { Belief, ResourceWrite } from "@dlock/testkit";
import { History } from "../src/history.js";

/** A grant its holder believed in from `grantedMs` until `believedUntilMs` (null: still held). */
function grant(
  history: History,
  client: string,
  token: number,
  grantedMs: number,
  believedUntilMs: number | null,
): Belief {
  const belief = history.beginBelief(client, "k", `${client}-${token}`, token);
  belief.startMs = history.startMs + grantedMs;
  belief.extensions[0].atMs = belief.startMs;
  if (believedUntilMs !== null) {
    history.endBelief(belief, "released", history.startMs + believedUntilMs);
  }
  return belief;
}

function write(
  history: History,
  client: string,
  token: number,
  accepted: boolean,
  believed: boolean,
): ResourceWrite {
  const record: ResourceWrite = {
    key: "k",
    token,
    client,
    beliefId: -1,
    believed,
    issueMs: history.startMs,
    arriveMs: history.startMs,
    accepted,
  };
  history.writes.push(record);
  return record;
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

  it("count a grant still held at the end of the run as believed until then", () => {
    const h = new History();
    grant(h, "a", 10, 0, null);
    grant(h, "b", 12, 500, 600);
    const result = checkMutualExclusion(h, h.startMs + 2_000);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain("a (token 10) and b (token 12)");
    expect(checkMutualExclusion(h, h.startMs + 400).violations).toEqual([]);
  });

  it("flag a token that does not increase after an ended grant", () => {
    const h = new History();
    grant(h, "a", 10, 0, 100);
    grant(h, "b", 9, 200, 300);
    expect(checkFencing(h).violations).toHaveLength(1);
  });

  it("flag a rejected write of a writer that believed its lock valid", () => {
    const h = new History();
    write(h, "a", 3, false, true);
    write(h, "b", 2, false, false);
    expect(checkFencing(h).violations).toHaveLength(1);
  });

  it("fence writes with the one fenced resource, decided when sent", () => {
    const h = new History();
    const resource = new FencedResource(() => h.now());
    const newer = write(h, "b", 12, false, true);
    newer.accepted = null;
    resource.send(newer);
    const older = write(h, "a", 10, false, false);
    older.accepted = null;
    resource.send(older);
    expect([newer.accepted, older.accepted]).toEqual([true, false]);
    expect(newer.arriveMs).not.toBeNull();
    expect(checkFencing(h).violations).toEqual([]);
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
