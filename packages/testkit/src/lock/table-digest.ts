// The lock table's state digest for the state-machine-safety check, taken after every applied
// batch on every node: it covers what table.snapshot() stores (every key's record, semaphore and
// reader-writer keys, replicated limits, the applied index) without encoding the snapshot. Keys
// are combined by a sum of their hashes, so the table's iteration order (insertion order, which
// differs between a node that applied and one that restored) needs no sort.
import type {
  KeyState,
  LockStateMachine,
  MultiHolderState,
  PermitHolder,
  PermitWaiter,
  Waiter,
} from "@dlock/server/lock";
import { TABLE_LIMIT_NAMES } from "@dlock/server/lock";
import { Hasher } from "../hash.js";

const TWO_POW_32 = 4294967296;

// Compile-time completeness: a field added to a record type fails the build here until the
// digest below hashes it (the snapshot stores every field).
type Covered<T, K extends keyof T> = [Exclude<keyof T, K>] extends [never] ? true : never;
const keyStateCovered: Covered<
  KeyState,
  | "key"
  | "holder"
  | "token"
  | "leaseRevision"
  | "ttlMs"
  | "lockDelayMs"
  | "delayRevision"
  | "delayMs"
  | "waiters"
> = true;
const waiterCovered: Covered<
  Waiter,
  "value" | "waiterId" | "waiterRevision" | "ttlMs" | "waitMs" | "requestId" | "lockDelayMs"
> = true;
const multiHolderCovered: Covered<
  MultiHolderState,
  "key" | "kind" | "permits" | "held" | "holders" | "waiters"
> = true;
const holderCovered: Covered<
  PermitHolder,
  "value" | "token" | "leaseRevision" | "ttlMs" | "count"
> = true;
const permitWaiterCovered: Covered<
  PermitWaiter,
  "value" | "waiterId" | "waiterRevision" | "ttlMs" | "waitMs" | "requestId" | "count"
> = true;
void [keyStateCovered, waiterCovered, multiHolderCovered, holderCovered, permitWaiterCovered];

/** Sums of the keys' hashes, one 32-bit lane each for a hash's low and high part. */
class KeySum {
  lo = 0;
  hi = 0;
  keys = 0;

  add(hash: number): void {
    this.lo = (this.lo + (hash >>> 0)) >>> 0;
    this.hi = (this.hi + Math.floor(hash / TWO_POW_32)) >>> 0;
    this.keys++;
  }
}

/** The fields every queued acquire has, whichever table it waits in. */
function hashQueued(h: Hasher, w: Readonly<Omit<Waiter, "lockDelayMs">>): Hasher {
  return h
    .string(w.value)
    .int(w.waiterId)
    .int(w.waiterRevision)
    .int(w.ttlMs)
    .int(w.waitMs)
    .int(w.requestId);
}

function lockKeyHash(s: Readonly<KeyState>): number {
  const h = new Hasher(0x10d)
    .string(s.key)
    .int(s.holder === null ? 0 : 1)
    .string(s.holder ?? "")
    .int(s.token)
    .int(s.leaseRevision)
    .int(s.ttlMs)
    .int(s.lockDelayMs)
    .int(s.delayRevision)
    .int(s.delayMs)
    .int(s.waiters.length);
  for (const w of s.waiters) hashQueued(h, w).int(w.lockDelayMs);
  return h.digest();
}

function multiHolderKeyHash(s: Readonly<MultiHolderState>): number {
  const h = new Hasher(0x10e)
    .string(s.key)
    .string(s.kind)
    .int(s.permits)
    .int(s.held)
    .int(s.holders.length);
  for (const x of s.holders) {
    h.string(x.value).int(x.token).int(x.leaseRevision).int(x.ttlMs).int(x.count);
  }
  h.int(s.waiters.length);
  for (const w of s.waiters) hashQueued(h, w).int(w.count);
  return h.digest();
}

/**
 * A digest of the table's whole state: equal tables (as snapshot() would store them) give equal
 * digests, and any difference in a stored field gives another one but for a 2^-53 collision.
 */
export function lockTableDigest(table: LockStateMachine): number {
  const locks = new KeySum();
  table.forEachKey((s) => locks.add(lockKeyHash(s)));
  const multiHolders = new KeySum();
  table.forEachSemaphore((s) => multiHolders.add(multiHolderKeyHash(s)));
  const h = new Hasher(0x10c)
    .int(table.appliedIndex)
    .int(locks.keys)
    .int(locks.lo)
    .int(locks.hi)
    .int(multiHolders.keys)
    .int(multiHolders.lo)
    .int(multiHolders.hi)
    .int(table.limitsReplicated ? 1 : 0);
  // As the snapshot: the limits in force count once they came through the log.
  if (table.limitsReplicated) {
    const limits = table.limits;
    for (const name of TABLE_LIMIT_NAMES) h.int(limits[name]);
  }
  return h.digest();
}
