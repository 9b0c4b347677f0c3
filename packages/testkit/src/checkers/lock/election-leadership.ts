import type { Belief, Observation, ObservedLeader } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";
import { beliefOutlivingNextGrant, overlappingBeliefs } from "./belief-overlaps.js";
import type { CommittedGrant, HolderChange } from "./committed-grants.js";
import { regressingBeliefs } from "./fencing.js";

/** What the election checker looks at; every key is an election's lock key (`election/<name>`). */
export interface ElectionHistory {
  /** Every campaigner's belief that it leads (a belief in its election's lock), valid by its clock. */
  leaderships: readonly Belief[];
  /** Every observe() and the leaders it reported. */
  observations: readonly Observation[];
  /**
   * Every grant of each election's key, in commit order (the simulator sees the log). Absent (a
   * run of real processes): the leaderships the campaigners learned of are all that is known.
   */
  committed?: ReadonlyMap<string, readonly CommittedGrant[]>;
  /**
   * With the log: every change of each election's leader (grant, or freed), in commit order. An
   * observer's first report must be the leader at some moment between its call and that report.
   */
  holders?: ReadonlyMap<string, readonly HolderChange[]>;
}

/**
 * Leader election's safety (docs/design.md, leader election), in true time:
 * 1. at most one leader per election at any instant: a campaigner leads from its grant until it
 *    resigned, lost or crashed, or earlier when its own validity ran out (the rule of mutual
 *    exclusion), and with the log, no leader outlives the commit of the next leadership;
 * 2. leadership fencing tokens strictly grow: in commit order, and a leadership that starts after
 *    another one ended has a greater token;
 * 3. each observer's reports follow the leader sequence: no report repeated (the same leader, or
 *    "nobody", twice in a row), tokens only grow, and no leadership is skipped between two
 *    reported ones. With the log, every reported leader is a committed grant, with its value, and
 *    the first report is the leader (or nobody) at some moment between the call and that report.
 *
 * Returns up to `max` violations (property electionLeadership).
 */
export function checkElectionLeadership(
  history: ElectionHistory,
  max = Number.POSITIVE_INFINITY,
): SafetyViolation[] {
  const found: SafetyViolation[] = [];
  const add = (message: string): boolean => {
    found.push(new SafetyViolation("electionLeadership", message));
    return found.length >= max;
  };
  const { leaderships, committed } = history;
  if (committed !== undefined) {
    const outliving = beliefOutlivingNextGrant(committed, leaderships);
    if (outliving !== null) {
      const { key, belief, earlier, later, endMs } = outliving;
      const message =
        `"${key}": ${belief.client} led with token ${earlier.token} until ` +
        `${endMs.toFixed(3)} ms (true time), but "${later.value}" was made leader with token ` +
        `${later.token} at ${later.appliedMs.toFixed(3)} ms`;
      if (add(message)) return found;
    }
    for (const [key, grants] of committed) {
      for (let i = 1; i < grants.length; i++) {
        const grant = grants[i]!; // 0 < i < grants.length
        const previous = grants[i - 1]!;
        if (grant.token > previous.token) continue;
        const message =
          `"${key}": the leadership committed at index ${grant.index} has token ` +
          `${grant.token}, not above the previous one's ${previous.token}`;
        if (add(message)) return found;
      }
    }
  }
  for (const { key, first, second, fromMs, toMs } of overlappingBeliefs(leaderships, max)) {
    const message =
      `"${key}": ${first.client} (token ${first.token}) and ${second.client} ` +
      `(token ${second.token}) both led from ${fromMs.toFixed(3)} to ${toMs.toFixed(3)} ms (true time)`;
    if (add(message)) return found;
  }
  for (const { key, belief, highest } of regressingBeliefs(leaderships, max)) {
    const message =
      `"${key}": ${belief.client} was made leader with token ${belief.token} at ` +
      `${belief.startMs.toFixed(3)} ms, after ${highest.client}'s leadership with token ` +
      `${highest.token} had ended`;
    if (add(message)) return found;
  }
  const known = knownLeaderships(history);
  const complete = committed !== undefined;
  for (const observation of history.observations) {
    const leaders = known.get(observation.key) ?? [];
    for (const message of observationFaults(observation, leaders, complete)) {
      if (add(message)) return found;
    }
    const changes = history.holders?.get(observation.key);
    const first = changes === undefined ? null : firstReportFault(observation, changes);
    if (first !== null && add(first)) return found;
  }
  return found;
}

/** Every leadership of each election known to the history, by token. */
function knownLeaderships(history: ElectionHistory): Map<string, ObservedLeader[]> {
  const byKey = new Map<string, Map<number, ObservedLeader>>();
  const add = (key: string, leader: ObservedLeader): void => {
    let tokens = byKey.get(key);
    if (tokens === undefined) byKey.set(key, (tokens = new Map()));
    if (!tokens.has(leader.token)) tokens.set(leader.token, leader);
  };
  if (history.committed !== undefined) {
    for (const [key, grants] of history.committed) {
      for (const grant of grants) add(key, { value: grant.value, token: grant.token });
    }
  } else {
    for (const belief of history.leaderships) {
      add(belief.key, { value: belief.value, token: belief.token });
    }
  }
  const sorted = new Map<string, ObservedLeader[]>();
  for (const [key, tokens] of byKey) {
    sorted.set(
      key,
      [...tokens.values()].sort((a, b) => a.token - b.token),
    );
  }
  return sorted;
}

/**
 * What is wrong with one observer's reports, given the election's known leaderships sorted by
 * token (complete when they come from the log: then each report must be one of them).
 */
function* observationFaults(
  observation: Observation,
  known: readonly ObservedLeader[],
  complete: boolean,
): Generator<string> {
  const who = `"${observation.key}": ${observation.client}'s observer`;
  const at = (ms: number): string => `${ms.toFixed(3)} ms`;
  let previous: { atMs: number; leader: ObservedLeader | null } | null = null;
  let lastToken: number | null = null;
  for (const report of observation.reports) {
    const leader = report.leader;
    if (previous !== null && previous.leader === null && leader === null) {
      yield `${who} reported "no leader" twice in a row (at ${at(previous.atMs)} and ${at(report.atMs)})`;
    }
    previous = report;
    if (leader === null) continue;
    if (lastToken !== null && leader.token <= lastToken) {
      yield `${who} reported token ${leader.token} at ${at(report.atMs)} after token ${lastToken}: a leader repeated or out of order`;
    } else {
      const missed = known.filter(
        (grant) => grant.token < leader.token && lastToken !== null && grant.token > lastToken,
      );
      const [firstMissed] = missed;
      if (firstMissed !== undefined) {
        yield `${who} went from token ${lastToken} to ${leader.token} at ${at(report.atMs)}, missing the leadership of token ${firstMissed.token} ("${firstMissed.value}")`;
      }
      const grant = known.find((candidate) => candidate.token === leader.token);
      if (grant === undefined && complete) {
        yield `${who} reported token ${leader.token} at ${at(report.atMs)}, which no committed leadership carries`;
      } else if (grant !== undefined && leader.value !== null && grant.value !== leader.value) {
        yield `${who} reported "${leader.value}" with token ${leader.token}, which "${grant.value}" holds`;
      }
    }
    lastToken = Math.max(lastToken ?? leader.token, leader.token);
  }
}

/**
 * With the log: the first report of an observation must be the election's state after some index
 * R its list could have read: R is at least every entry first applied before observe() was called
 * (those were committed, and the list is a linearizable read) and at most every entry first
 * applied by the time of the report. Returns what is wrong, or null.
 */
function firstReportFault(
  observation: Observation,
  changes: readonly HolderChange[],
): string | null {
  const first = observation.reports[0];
  if (first === undefined) return null;
  let state: HolderChange["holder"] = null;
  const candidates: HolderChange["holder"][] = [];
  for (const change of changes) {
    if (change.appliedMs > first.atMs) break;
    if (change.appliedMs < observation.startMs) {
      state = change.holder;
      continue;
    }
    candidates.push(change.holder);
  }
  candidates.push(state);
  const token = first.leader?.token ?? null;
  if (candidates.some((holder) => (holder?.token ?? null) === token)) return null;
  const said = first.leader === null ? "no leader" : `token ${first.leader.token}`;
  const possible = candidates.map((holder) =>
    holder === null ? "nobody" : `token ${holder.token}`,
  );
  return (
    `"${observation.key}": ${observation.client}'s observer, called at ` +
    `${observation.startMs.toFixed(3)} ms, first reported ${said} at ${first.atMs.toFixed(3)} ms; ` +
    `the leader in between was ${[...new Set(possible)].join(" or ")}`
  );
}
