import { describe, expect, it } from "vitest";
import { checkAcknowledgements } from "../../../src/checkers/lock/acknowledgements.js";
import type { CommittedLockEntry } from "../../../src/lock/lock-history.js";
import { committed, wireOp } from "./helpers.js";

const acquire = { type: "acquire" as const, value: "a1", ttlMs: 1000, requestId: "r" };
const granted = (token: number) =>
  ({
    type: "granted",
    key: "k",
    value: "a1",
    token,
    leaseRevision: token,
    ttlMs: 1000,
    requestId: 1,
    renewed: false,
  }) as const;

function byIndex(...entries: CommittedLockEntry[]): Map<number, CommittedLockEntry> {
  return new Map(entries.map((entry) => [entry.index, entry]));
}

const keepAll = (): number | null => null;

describe("no lost acknowledgements", () => {
  const ack = wireOp("a", acquire, 0, { returnMs: 20, result: { fencingToken: 4, ttlMs: 1000 } });

  it("accepts an acknowledged grant that is a committed entry applied before the answer", () => {
    const log = byIndex(committed(4, granted(4), 15));
    expect(checkAcknowledgements([ack], log, keepAll)).toBeNull();
    // Still in the final log: same chain at index 4.
    expect(checkAcknowledgements([ack], log, (index) => 1000 + index)).toBeNull();
  });

  it("finds an acknowledged grant that no committed entry carries", () => {
    const violation = checkAcknowledgements([ack], byIndex(), keepAll);
    expect(violation?.property).toBe("acknowledgement");
    expect(violation?.message).toMatch(
      /acquire of "k" by a1 \(token 4\) succeeded .* no committed/,
    );
  });

  it("finds an answer sent before its entry was applied anywhere", () => {
    const log = byIndex(committed(4, granted(4), 25));
    expect(checkAcknowledgements([ack], log, keepAll)?.message).toMatch(
      /first applied only at 25\.000 ms/,
    );
  });

  it("finds an acknowledged entry that a crash removed from the final log", () => {
    const log = byIndex(committed(4, granted(4), 15));
    expect(checkAcknowledgements([ack], log, () => 777)?.message).toMatch(
      /\(index 4\) is not in the final log/,
    );
  });

  it("checks acknowledged releases and refreshes, and ignores release: false", () => {
    const release = { type: "release" as const, value: "a1", token: 4 };
    const released = wireOp("a", release, 30, { returnMs: 40, result: { released: true } });
    const notHeld = wireOp("a", release, 50, { returnMs: 60, result: { released: false } });
    const entry = committed(
      6,
      { type: "released", key: "k", value: "a1", token: 4, next: null },
      35,
    );
    expect(checkAcknowledgements([released, notHeld], byIndex(entry), keepAll)).toBeNull();
    expect(checkAcknowledgements([released], byIndex(), keepAll)?.message).toMatch(
      /release of "k" by a1/,
    );
    const refresh = { type: "refresh" as const, value: "a1", token: 4, ttlMs: 1000 };
    const refreshed = wireOp("a", refresh, 30, { returnMs: 40, result: { ttlMs: 1000 } });
    expect(checkAcknowledgements([refreshed], byIndex(), keepAll)?.message).toMatch(
      /refresh of "k" token 4/,
    );
  });
});
