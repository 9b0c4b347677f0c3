import { describe, expect, it } from "vitest";
import { checkElectionLeadership } from "../../../src/checkers/lock/election-leadership.js";
import type { Observation, ObservedLeader } from "../../../src/lock/lock-history.js";
import type { HolderChange } from "../../../src/checkers/lock/committed-grants.js";
import { belief, grant, grantsOf } from "./helpers.js";

let observationId = 0;

/** An observer of key "k" that reported `leaders` (a token, or null: nobody), 10 ms apart. */
function observer(...leaders: (number | null)[]): Observation {
  return {
    id: observationId++,
    client: "o",
    key: "k",
    startMs: 0,
    reports: leaders.map((token, i) => ({
      atMs: 10 * i,
      leader: token === null ? null : ({ value: `c${token}.1.1`, token } as ObservedLeader),
    })),
  };
}

/** Three leaderships one after another: c1 (token 1), c2 (2), c3 (3), each led 100 ms. */
const committed = grantsOf(
  { ...grant("c1.1.1", 1, 0) },
  { ...grant("c2.1.1", 2, 100) },
  { ...grant("c3.1.1", 3, 200) },
);
const leaderships = [
  belief("c1", 1, 0, 100),
  belief("c2", 2, 100, 200, { endMs: 150 }),
  belief("c3", 3, 200, 300),
];

function messages(history: Parameters<typeof checkElectionLeadership>[0]): string[] {
  return checkElectionLeadership(history).map((violation) => violation.message);
}

describe("checkElectionLeadership", () => {
  it("accepts one leader at a time, growing tokens and observers that follow the sequence", () => {
    const observations = [observer(null, 1, null, 2, null, 3), observer(2, null, 3), observer()];
    expect(messages({ leaderships, observations, committed })).toEqual([]);
    // Without the log, the leaderships the campaigners learned of are the reference.
    expect(messages({ leaderships, observations })).toEqual([]);
  });

  it("finds two leaders at one instant, from the log and from the beliefs alone", () => {
    const overlapping = [...leaderships.slice(0, 2), belief("c3", 3, 140, 300)];
    const withLog = messages({
      leaderships: overlapping,
      observations: [],
      committed: grantsOf(grant("c1.1.1", 1, 0), grant("c2.1.1", 2, 100), grant("c3", 3, 140)),
    });
    expect(withLog[0]).toMatch(/c2 led with token 2 until 150\.000 ms .* token 3 at 140\.000/);
    expect(withLog).toContainEqual(
      expect.stringMatching(/c2 \(token 2\) and c3 \(token 3\) both led/),
    );
    expect(messages({ leaderships: overlapping, observations: [] })).toEqual([
      expect.stringMatching(/both led from 140\.000 to 150\.000 ms/),
    ]);
  });

  it("finds leadership tokens that do not grow", () => {
    const regressing = grantsOf(grant("c1.1.1", 1, 0), grant("c2.1.1", 1, 100));
    expect(messages({ leaderships: [], observations: [], committed: regressing })).toEqual([
      expect.stringMatching(/has token 1, not above the previous one's 1/),
    ]);
    const later = [belief("c1", 5, 0, 100), belief("c2", 4, 120, 200)];
    expect(messages({ leaderships: later, observations: [] })).toEqual([
      expect.stringMatching(
        /c2 was made leader with token 4 .* after c1's leadership with token 5/,
      ),
    ]);
  });

  it("finds an observer that repeats, reorders, skips or invents a leader", () => {
    const check = (...reports: (number | null)[]) =>
      messages({ leaderships, observations: [observer(...reports)], committed });
    expect(check(1, 1)).toEqual([
      expect.stringMatching(/token 1 .* after token 1: a leader repeated/),
    ]);
    expect(check(1, null, null, 2)).toEqual([
      expect.stringMatching(/reported "no leader" twice in a row/),
    ]);
    expect(check(2, 1)).toEqual([expect.stringMatching(/token 1 .* after token 2/)]);
    expect(check(1, null, 3)).toEqual([
      expect.stringMatching(/went from token 1 to 3 .* missing the leadership of token 2/),
    ]);
    expect(check(3, 7)).toEqual([expect.stringMatching(/token 7 .* no committed leadership/)]);
    // Without the log, a skipped leadership is still one some campaigner learned of.
    expect(messages({ leaderships, observations: [observer(1, null, 3)] })).toEqual([
      expect.stringMatching(/missing the leadership of token 2/),
    ]);
  });

  it("holds an observer's first report to the leader between its call and that report", () => {
    // c1 leads from 0, nobody from 100, c2 from 150.
    const changes: HolderChange[] = [
      { index: 1, appliedMs: 0, holder: { value: "c1.1.1", token: 1 } },
      { index: 4, appliedMs: 100, holder: null },
      { index: 6, appliedMs: 150, holder: { value: "c2.1.1", token: 6 } },
    ];
    const holders = new Map([["k", changes]]);
    const reportAt = (startMs: number, atMs: number, token: number | null): Observation => ({
      ...observer(token),
      startMs,
      reports: [{ atMs, leader: token === null ? null : { value: `c${token}.1.1`, token } }],
    });
    const check = (observation: Observation) =>
      messages({ leaderships: [], observations: [observation], holders });
    expect(check(reportAt(50, 60, 1))).toEqual([]);
    expect(check(reportAt(50, 120, null))).toEqual([]);
    expect(check(reportAt(90, 160, 6))).toEqual([]);
    // Called while c1 led and answered before anything changed: c2 (or nobody) is a skip.
    expect(check(reportAt(50, 90, 6))).toEqual([
      expect.stringMatching(
        /first reported token 6 at 90\.000 ms; the leader in between was token 1/,
      ),
    ]);
    expect(check(reportAt(120, 130, 1))).toEqual([
      expect.stringMatching(/first reported token 1 .* the leader in between was nobody/),
    ]);
  });

  it("finds an observer that names the wrong leader for a token", () => {
    const wrong: Observation = {
      ...observer(1),
      reports: [{ atMs: 0, leader: { value: "c9.1.1", token: 1 } }],
    };
    expect(messages({ leaderships, observations: [wrong], committed })).toEqual([
      expect.stringMatching(/reported "c9\.1\.1" with token 1, which "c1\.1\.1" holds/),
    ]);
  });
});
