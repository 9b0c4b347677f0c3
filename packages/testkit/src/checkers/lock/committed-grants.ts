import type { LockResult } from "@dlock/server/lock";
import type { CommittedLockEntry } from "../../lock/lock-history.js";

/** A new grant of a key (a new fencing token) as committed, in commit (index) order. */
export interface CommittedGrant {
  key: string;
  value: string;
  token: number;
  /** Index of the entry that made the grant (an acquire, or the release/expire that handed it on). */
  index: number;
  /** First time any node applied that entry (true ms): the grant existed from then at the latest. */
  appliedMs: number;
  /** Handed to a queued waiter by a release or an expiry. */
  toWaiter: boolean;
}

/** Every new grant in the committed entries, by key, in index order. */
export function committedGrants(
  committed: ReadonlyMap<number, CommittedLockEntry> | readonly CommittedLockEntry[],
): Map<string, CommittedGrant[]> {
  const entries = [...committed.values()].sort((a, b) => a.index - b.index);
  const byKey = new Map<string, CommittedGrant[]>();
  const add = (grant: CommittedGrant): void => {
    let list = byKey.get(grant.key);
    if (list === undefined) {
      list = [];
      byKey.set(grant.key, list);
    }
    list.push(grant);
  };
  for (const entry of entries) {
    const grant = grantOf(entry.result);
    if (grant !== null) {
      add({ ...grant, index: entry.index, appliedMs: entry.appliedMs });
    }
  }
  return byKey;
}

function grantOf(
  result: LockResult,
): { key: string; value: string; token: number; toWaiter: boolean } | null {
  switch (result.type) {
    case "granted":
      if (result.renewed) return null;
      return { key: result.key, value: result.value, token: result.token, toWaiter: false };
    case "released":
    case "expired":
    case "delayCleared":
      if (result.next === null) return null;
      return {
        key: result.key,
        value: result.next.value,
        token: result.next.token,
        toWaiter: true,
      };
    default:
      return null;
  }
}

/** Who holds a lock key after a committed entry changed it (null: nobody). */
export interface HolderChange {
  index: number;
  appliedMs: number;
  holder: { value: string; token: number } | null;
}

/**
 * Every change of holder of each of `keys` (exclusive lock keys) in the committed entries, in
 * index order: a grant, or a release or expiry that frees the key or hands it on.
 */
export function holderChanges(
  committed: ReadonlyMap<number, CommittedLockEntry> | readonly CommittedLockEntry[],
  keys: ReadonlySet<string>,
): Map<string, HolderChange[]> {
  const entries = [...committed.values()].sort((a, b) => a.index - b.index);
  const byKey = new Map<string, HolderChange[]>();
  for (const entry of entries) {
    const result = entry.result;
    if (!("key" in result) || !keys.has(result.key)) continue;
    const grant = grantOf(result);
    const freed = (result.type === "released" || result.type === "expired") && result.next === null;
    if (grant === null && !freed) continue;
    let list = byKey.get(result.key);
    if (list === undefined) byKey.set(result.key, (list = []));
    list.push({
      index: entry.index,
      appliedMs: entry.appliedMs,
      holder: grant === null ? null : { value: grant.value, token: grant.token },
    });
  }
  return byKey;
}
