import { describe, expect, it } from "vitest";
import { History } from "../src/history.js";
import { checkLinearizability } from "../src/linearizability-check.js";

function op(
  h: History,
  kind: "acquire" | "release" | "get",
  value: string,
  callMs: number,
  returnMs: number,
  outcome: "ok" | "busy" | "error",
  token: number | null,
  detail = "",
): void {
  h.ops.push({ kind, client: value, key: "k", value, callMs, returnMs, outcome, token, detail });
}

describe("chaos linearizability check", () => {
  it("accepts a history where an expiry explains a later grant", () => {
    const h = new History();
    op(h, "acquire", "a", 0, 10, "ok", 5);
    op(h, "acquire", "b", 20, 30, "busy", null);
    // a never released: its lease expired inside the cluster, then b got the key.
    op(h, "acquire", "b", 5_000, 5_010, "ok", 9);
    op(h, "get", "", 5_020, 5_030, "ok", 9, "b@9");
    expect(checkLinearizability(h).violations).toEqual([]);
  });

  it("flags a read that sees a grant after its acknowledged release", () => {
    const h = new History();
    op(h, "acquire", "a", 0, 10, "ok", 5);
    op(h, "release", "a", 20, 30, "ok", 5, "released");
    op(h, "get", "", 40, 50, "ok", 5, "a@5");
    const result = checkLinearizability(h);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain("longest linearizable prefix");
  });

  it("flags LOCK_BUSY on a key nobody could hold", () => {
    const h = new History();
    op(h, "acquire", "a", 0, 10, "ok", 5);
    op(h, "release", "a", 20, 30, "ok", 5, "released");
    op(h, "acquire", "b", 40, 50, "busy", null);
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("flags a token that goes backwards", () => {
    const h = new History();
    op(h, "acquire", "a", 0, 10, "ok", 5);
    op(h, "release", "a", 20, 30, "ok", 5, "released");
    op(h, "acquire", "b", 40, 50, "ok", 4);
    expect(checkLinearizability(h).violations).toHaveLength(1);
  });

  it("lets a failed acquire take effect or not", () => {
    const h = new History();
    op(h, "acquire", "a", 0, 10, "error", null);
    op(h, "get", "", 20, 30, "ok", 7, "a@7");
    op(h, "get", "", 40, 50, "ok", null, "free");
    expect(checkLinearizability(h).violations).toEqual([]);
  });
});
