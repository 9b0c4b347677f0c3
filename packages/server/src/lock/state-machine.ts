import { WAITERS_PER_KEY_MAX } from "@dlock/protocol";
import { decodeCommand, utf8Bytes } from "./codec.js";
import type {
  AcquireCommand,
  CancelWaitCommand,
  ClearDelayCommand,
  ExpireCommand,
  LockCommand,
  RefreshCommand,
  ReleaseCommand,
  RwAcquireCommand,
  SemaphoreAcquireCommand,
  SetLimitsCommand,
  WaiterExpireCommand,
} from "./commands.js";
import { LockError, LockInvariantError } from "./errors.js";
import type { KeyState, QueuedAcquire, Waiter } from "./key-state.js";
import { emptyKeyState } from "./key-state.js";
import { KeyTable } from "./key-table.js";
import type { LockLimits, ResolvedLockLimits, TableLimits } from "./limits.js";
import { resolveLockLimits, sameTableLimits, tableLimitsOf, tableLimitsProblem } from "./limits.js";
import {
  LIMITS_RECORD_KEY,
  decodeLimitsRecord,
  decodeLimitsSnapshot,
  encodeLimitsRecord,
  encodeLimitsSnapshot,
  isLimitsRecord,
  isLimitsSnapshot,
} from "./limits-codec.js";
import {
  busyResult,
  grantedResult,
  invalidArgument,
  locksFullResult,
  queuedResult,
  refreshedResult,
  refusedResult,
  staleResult,
  waiterGrant,
  waiterRemovedResult,
  waitersFullResult,
} from "./result-builders.js";
import { plantedLockBugsOf } from "./planted-lock-bugs.js";
import type {
  LimitsSetResult,
  LockInfo,
  LockResult,
  RejectedResult,
  WaiterGrant,
} from "./results.js";
import {
  decodeMultiHolderRecord,
  decodeMultiHolderSnapshot,
  encodeMultiHolderRecord,
  encodeMultiHolderSnapshot,
  isMultiHolderRecord,
  isMultiHolderSnapshot,
} from "./multi-holder-codec.js";
import type { MultiHolderState } from "./multi-holder-state.js";
import { KIND_CALL, KIND_NOUN, MultiHolderTable } from "./multi-holder-table.js";
import { findWaiter, newWaiter, renewWaiter, takeWaiter } from "./wait-queue.js";
import {
  decodeKeyStateRecord,
  decodePlainKeyStateRecordInto,
  decodeTableSnapshot,
  encodeKeyStateRecord,
  encodeTableSnapshot,
} from "./table-codec.js";

export interface LockStateMachineOptions {
  /**
   * This node's configured limits: what its leader proposes (setLimits), and the limits in force
   * until the table holds replicated ones (see LockStateMachine).
   */
  limits: LockLimits;
}

const NOT_OWNER_MESSAGE = "not the holder: the value and token do not name the current grant";

/**
 * The replicated lock table. Deterministic: it never reads a clock, a random source or the disk;
 * the same entries applied in the same order give the same table and the same results on every
 * member. Lease timing lives in the leader's LeaseManager, which ends leases by proposing
 * `expire` entries naming exactly the grant and revision they end.
 *
 * Lock delay (docs/design.md §2, optional per acquire): when a grant with lockDelayMs > 0 ends by expiry
 * (never by release), the key stays unavailable (acquires get LOCK_BUSY or queue) until the
 * leader's LeaseManager commits `clearDelay` naming that expiry, at least lockDelayMs after it
 * applied the expiry on its clock (a new leader counts a full delay from its election). The head
 * waiter is granted in that clearDelay step.
 *
 * Limits (docs/design.md, "Table limits"): apply() enforces the limits in force, which are
 * replicated state: a `setLimits` entry replaces them for every member from that entry on, and
 * they are stored (a record under the key "") and carried in snapshots. Until the table holds
 * replicated limits (a log or data written before they existed) the configured ones are in
 * force: that is how those entries were first applied, under the old rule that every member runs
 * the same flags. A cluster started on this version never applies a lock command before its first
 * setLimits entry: its leader proposes one on election, ahead of any client command.
 *
 * Results are returned, never thrown: an entry that is bad input must still be applied the same
 * way everywhere. Only host misuse (an index applied out of order) throws LockInvariantError.
 */
export class LockStateMachine {
  /** This node's configured limits (its flags), resolved. */
  readonly configuredLimits: ResolvedLockLimits;
  private inForce: ResolvedLockLimits;
  private limitsFromLog = false;
  // A deliberate bug (planted-lock-bugs.ts): only @dlock/server/internal can switch it on.
  private readonly expireIgnoresRefresh: boolean;
  private table = new KeyTable();
  // Multi-holder keys live apart from the exclusive locks; a key is in at most one of the two.
  private readonly multiHolders: MultiHolderTable;
  private dirty = new Set<string>();
  private applied = 0;

  constructor(options: LockStateMachineOptions) {
    this.configuredLimits = resolveLockLimits(options.limits);
    this.inForce = this.configuredLimits;
    const bugs = plantedLockBugsOf(options);
    this.expireIgnoresRefresh = bugs.expireIgnoresRefresh;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter reads the live limits
    const machine = this;
    this.multiHolders = new MultiHolderTable({
      get limits() {
        return machine.limits;
      },
      keyCount: () => this.size,
      isLockKey: (key) => this.table.has(key),
      markDirty: (key) => this.dirty.add(key),
      overcommit: bugs.semaphoreOvercommit,
      readerJoinsWriter: bugs.rwReaderJoinsWriter,
    });
  }

  /** The limits apply() enforces now (replicated, or the configured ones until then). */
  get limits(): ResolvedLockLimits {
    return this.inForce;
  }

  /**
   * The table limits in force and whether they came through the log (false: the configured ones,
   * in force until the first setLimits entry).
   */
  get tableLimits(): { limits: TableLimits; replicated: boolean } {
    return { limits: tableLimitsOf(this.inForce), replicated: this.limitsFromLog };
  }

  /** Whether the limits in force came through the log (a setLimits entry, or stored with the table). */
  get limitsReplicated(): boolean {
    return this.limitsFromLog;
  }

  /**
   * The setLimits command a leader proposes, or null when the limits in force are replicated and
   * equal this node's configured ones.
   */
  limitsProposal(): SetLimitsCommand | null {
    const configured = tableLimitsOf(this.configuredLimits);
    if (this.limitsReplicated && sameTableLimits(configured, this.inForce)) return null;
    return { type: "setLimits", key: LIMITS_RECORD_KEY, ...configured };
  }

  /** Index of the last entry applied (or marked applied). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Keys in the table (held, queued on or in lock delay), semaphores included. */
  get size(): number {
    return this.table.size + this.multiHolders.size;
  }

  /** For entries that carry no lock command (Raft no-ops, membership changes). */
  markApplied(index: number): void {
    this.advance(index);
  }

  /** Decodes and applies an entry's data; malformed data is a deterministic MALFORMED result. */
  applyEntry(index: number, data: Uint8Array): LockResult {
    let command: LockCommand;
    try {
      command = decodeCommand(data);
    } catch (error) {
      this.advance(index);
      const message = error instanceof LockError ? error.message : "malformed lock command";
      return { type: "rejected", code: "MALFORMED", key: "", field: null, message };
    }
    return this.apply(index, command);
  }

  apply(index: number, command: LockCommand): LockResult {
    this.advance(index);
    switch (command.type) {
      case "acquire":
        return this.acquire(index, command);
      case "setLimits":
        return this.setLimits(command);
      case "refresh":
        return this.refresh(index, command);
      case "release":
        return this.release(index, command);
      case "expire":
        return this.expire(index, command);
      case "waiterExpire":
        if (this.multiHolders.has(command.key))
          return this.multiHolders.waiterExpire(index, command);
        return this.waiterExpire(command);
      case "cancelWait":
        if (this.multiHolders.has(command.key)) {
          const bad = this.check(command);
          return bad ?? this.multiHolders.cancelWait(index, command);
        }
        return this.cancelWait(command);
      case "clearDelay":
        return this.clearDelay(index, command);
      case "semaphoreAcquire":
        return this.check(command) ?? this.multiHolders.acquireSemaphore(index, command);
      case "rwAcquire":
        return this.check(command) ?? this.multiHolders.acquireRw(index, command);
      case "permitExpire":
        return this.multiHolders.expire(index, command);
      default:
        return {
          type: "rejected",
          code: "MALFORMED",
          key: "",
          field: "type",
          message: "unknown command type",
        };
    }
  }

  /** The checks apply() makes before touching the table, for the server to run before proposing. */
  validate(command: LockCommand): LockError | null {
    const rejected = this.check(command);
    return rejected === null
      ? null
      : new LockError(
          rejected.code,
          rejected.message,
          rejected.field ? { field: rejected.field } : {},
        );
  }

  get(key: string): LockInfo {
    const semaphore = this.multiHolders.info(key);
    if (semaphore !== undefined) return semaphore;
    const s = this.table.get(key);
    if (s === undefined)
      return {
        key,
        held: false,
        value: null,
        fencingToken: 0,
        ttlMs: 0,
        leaseRevision: 0,
        waiters: 0,
        inLockDelay: false,
      };
    return {
      key,
      held: s.holder !== null,
      value: s.holder,
      fencingToken: s.token,
      ttlMs: s.ttlMs,
      leaseRevision: s.leaseRevision,
      waiters: s.waiters.length,
      inLockDelay: s.delayRevision > 0,
    };
  }

  /** The queue of a key in FIFO order (copies). */
  waiters(key: string): Waiter[] {
    const s = this.table.get(key);
    return s === undefined ? [] : s.waiters.map((w) => ({ ...w }));
  }

  /** Read-only view of a key's record, for the lease manager. Do not mutate. */
  keyState(key: string): Readonly<KeyState> | undefined {
    return this.table.get(key);
  }

  /** Visits every key's record (KeyTable order). The callback must not mutate or apply. */
  forEachKey(visit: (state: Readonly<KeyState>) => void): void {
    this.table.forEachState(visit);
  }

  /**
   * Locks held, semaphore permits held, reader-writer holders (readers and writers) and queued
   * acquires of each kind (a scan: for scrapes).
   */
  primitiveGauges(): Record<"lock" | "semaphore" | "rw", { held: number; waiting: number }> {
    const lock = { held: 0, waiting: 0 };
    this.forEachKey((s) => {
      if (s.holder !== null) lock.held++;
      lock.waiting += s.waiters.length;
    });
    const semaphore = { held: 0, waiting: 0 };
    const rw = { held: 0, waiting: 0 };
    this.multiHolders.forEach((s) => {
      const gauges = s.kind === "rw" ? rw : semaphore;
      gauges.held += s.kind === "rw" ? s.holders.length : s.held;
      gauges.waiting += s.waiters.length;
    });
    return { lock, semaphore, rw };
  }

  /** Read-only view of a semaphore key's record, for the lease manager. Do not mutate. */
  semaphoreState(key: string): Readonly<MultiHolderState> | undefined {
    return this.multiHolders.state(key);
  }

  /** Visits every semaphore key's record. The callback must not mutate or apply. */
  forEachSemaphore(visit: (state: Readonly<MultiHolderState>) => void): void {
    this.multiHolders.forEach(visit);
  }

  /** Every key of both kinds (locks first). */
  *keys(): IterableIterator<string> {
    yield* this.table.keys();
    for (const s of this.multiHolders.sortedStates()) yield s.key;
  }

  /**
   * Every key's record (KeyTable order) as a live iterator: it may be advanced across applies
   * (keys deleted meanwhile are skipped, keys added meanwhile may or may not be visited). Do not
   * mutate.
   */
  states(): Iterator<Readonly<KeyState>> {
    return this.table.states();
  }

  // ---- persistence --------------------------------------------------------------------------

  /** How many keys takeDirtyKeys() would return now. */
  get dirtyKeyCount(): number {
    return this.dirty.size;
  }

  /**
   * Keys changed since the last call: write encodeLockRecord(key) for each (null → delete) in the
   * same LevelDB batch as `appliedIndex`.
   */
  takeDirtyKeys(): string[] {
    if (this.dirty.size === 0) return [];
    const keys = Array.from(this.dirty);
    this.dirty = new Set();
    return keys;
  }

  /** The record to store for `key`, or null when the key is free (delete it). */
  encodeLockRecord(key: string): Uint8Array | null {
    if (key === LIMITS_RECORD_KEY)
      return this.limitsReplicated ? encodeLimitsRecord(tableLimitsOf(this.inForce)) : null;
    const s = this.table.get(key);
    if (s !== undefined) return encodeKeyStateRecord(s);
    const semaphore = this.multiHolders.state(key);
    return semaphore === undefined ? null : encodeMultiHolderRecord(semaphore);
  }

  /** Rebuilds an empty table from stored records (any order) and the applied index stored with them. */
  loadRecords(appliedIndex: number, records: Iterable<Uint8Array>): void {
    if (this.table.size !== 0 || this.applied !== 0)
      throw new LockInvariantError("loadRecords needs an empty state machine");
    this.installRecords(appliedIndex, records);
  }

  /**
   * loadRecords() from records that arrive in pieces (a restart reading LevelDB step by step):
   * each piece is decoded into the table before the next is awaited. On a bad record the table
   * is left empty and the error thrown.
   */
  async loadRecordChunks(
    appliedIndex: number,
    chunks: AsyncIterable<readonly Uint8Array[]>,
  ): Promise<void> {
    if (this.table.size !== 0 || this.applied !== 0)
      throw new LockInvariantError("loadRecordChunks needs an empty state machine");
    (await this.prepareRecordChunks(appliedIndex, chunks)).install();
  }

  /**
   * Decodes stored records arriving in pieces into a new table beside the current one, which
   * stays in use (entries may still be applied to it) until install() replaces it, the dirty set
   * cleared: a snapshot install decodes a million records without one long synchronous step.
   * `recordsExpected` (the snapshot's record count; 0 if unknown) sizes the key index up front.
   * Rejects with MALFORMED on a bad record, changing nothing.
   */
  async prepareRecordChunks(
    appliedIndex: number,
    chunks: AsyncIterable<readonly Uint8Array[]>,
    recordsExpected = 0,
  ): Promise<{ install(): void; records: number }> {
    const table = new KeyTable();
    table.reserve(recordsExpected);
    const semaphores: MultiHolderState[] = [];
    let limits: TableLimits | null = null;
    // Plain records are decoded into this one state, which the table copies.
    const plain = emptyKeyState();
    for await (const chunk of chunks) {
      for (const bytes of chunk) {
        if (isLimitsRecord(bytes)) {
          limits = decodeLimitsRecord(bytes);
          continue;
        }
        if (isMultiHolderRecord(bytes)) {
          semaphores.push(decodeMultiHolderRecord(bytes));
          continue;
        }
        const s = decodePlainKeyStateRecordInto(bytes, plain) ? plain : decodeKeyStateRecord(bytes);
        this.checkLoadable(appliedIndex, s);
        if (!table.insert(s.key, s))
          throw new LockError("MALFORMED", `duplicate lock record ${s.key}`);
      }
    }
    for (const s of semaphores)
      this.checkSemaphoreLoadable(appliedIndex, s, (key) => table.has(key));
    return {
      records: table.size + semaphores.length,
      install: () => {
        this.installLimits(limits);
        this.multiHolders.install(semaphores);
        this.table = table;
        this.dirty = new Set();
        this.applied = appliedIndex;
      },
    };
  }

  /** Replaces the whole table by stored records (a snapshot install); the dirty set is cleared. */
  replaceRecords(appliedIndex: number, records: Iterable<Uint8Array>): void {
    this.installRecords(appliedIndex, records);
  }

  /** Canonical bytes of the whole table (+ waiters) and the applied index: equal tables, equal bytes. */
  snapshot(): Uint8Array {
    const states = Array.from(this.table.states());
    states.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const lockSnapshot = encodeTableSnapshot(this.applied, states);
    const table =
      this.multiHolders.size === 0
        ? lockSnapshot
        : encodeMultiHolderSnapshot(lockSnapshot, this.multiHolders.sortedStates());
    return this.limitsReplicated ? encodeLimitsSnapshot(table, tableLimitsOf(this.inForce)) : table;
  }

  /**
   * Replaces the whole table. The host must then rewrite its stored table from scratch (every key
   * of keys()); the dirty set is cleared.
   */
  restoreSnapshot(bytes: Uint8Array): void {
    let semaphores: MultiHolderState[] = [];
    let limits: TableLimits | null = null;
    let lockSnapshot = bytes;
    if (isLimitsSnapshot(bytes)) ({ inner: lockSnapshot, limits } = decodeLimitsSnapshot(bytes));
    if (isMultiHolderSnapshot(lockSnapshot)) {
      ({ lockSnapshot, states: semaphores } = decodeMultiHolderSnapshot(lockSnapshot));
    }
    const { appliedIndex, states } = decodeTableSnapshot(lockSnapshot);
    this.install(appliedIndex, states, semaphores, limits);
  }

  /** FNV-1a (32-bit, hex) of snapshot(): a cheap equality check for tests and diagnostics. */
  stateHash(): string {
    const bytes = this.snapshot();
    let hash = 0x811c9dc5;
    for (const byte of bytes) {
      hash ^= byte;
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(16).padStart(8, "0");
  }

  private installRecords(appliedIndex: number, records: Iterable<Uint8Array>): void {
    const states: KeyState[] = [];
    const semaphores: MultiHolderState[] = [];
    let limits: TableLimits | null = null;
    for (const bytes of records) {
      if (isLimitsRecord(bytes)) limits = decodeLimitsRecord(bytes);
      else if (isMultiHolderRecord(bytes)) semaphores.push(decodeMultiHolderRecord(bytes));
      else states.push(decodeKeyStateRecord(bytes));
    }
    this.install(appliedIndex, states, semaphores, limits);
  }

  /** Rejects a stored record that cannot belong to a table applied up to `appliedIndex`. */
  private checkLoadable(appliedIndex: number, s: KeyState): void {
    if (s.token > appliedIndex || s.leaseRevision > appliedIndex || s.delayRevision > appliedIndex)
      throw new LockError("MALFORMED", `lock record ${s.key} is newer than the applied index`);
    checkWaitersLoadable(`lock record ${s.key}`, s.waiters, appliedIndex);
    // The protocol's bound, not the limit in force: a queue stored under a higher limit loads,
    // and a lower limit only refuses new waiters.
    if (s.waiters.length > WAITERS_PER_KEY_MAX)
      throw new LockError("MALFORMED", `lock record ${s.key} has more waiters than allowed`);
  }

  /** The same for a semaphore record; `isLockKey` tells whether the key is also a lock's. */
  private checkSemaphoreLoadable(
    appliedIndex: number,
    s: MultiHolderState,
    isLockKey: (key: string) => boolean,
  ): void {
    if (isLockKey(s.key))
      throw new LockError("MALFORMED", `key ${s.key} is both a lock and a semaphore`);
    for (const h of s.holders)
      if (h.leaseRevision > appliedIndex)
        throw new LockError("MALFORMED", `semaphore ${s.key} is newer than the applied index`);
    checkWaitersLoadable(`semaphore ${s.key}`, s.waiters, appliedIndex);
  }

  private install(
    appliedIndex: number,
    states: KeyState[],
    semaphores: MultiHolderState[],
    limits: TableLimits | null,
  ): void {
    const lockKeys = new Set<string>();
    for (const s of states) {
      this.checkLoadable(appliedIndex, s);
      lockKeys.add(s.key);
    }
    for (const s of semaphores)
      this.checkSemaphoreLoadable(appliedIndex, s, (key) => lockKeys.has(key));
    this.installLimits(limits);
    this.multiHolders.install(semaphores);
    this.table.clear();
    this.dirty = new Set();
    for (const s of states) {
      if (this.table.has(s.key)) throw new LockError("MALFORMED", `duplicate lock record ${s.key}`);
      this.table.set(s.key, s);
    }
    this.applied = appliedIndex;
  }

  /** Loaded limits, or the configured ones for data that holds none (see the class comment). */
  private installLimits(limits: TableLimits | null): void {
    this.limitsFromLog = limits !== null;
    this.inForce =
      limits === null
        ? this.configuredLimits
        : { electionTimeoutMs: this.configuredLimits.electionTimeoutMs, ...limits };
  }

  // ---- commands -----------------------------------------------------------------------------

  private setLimits(c: SetLimitsCommand): LimitsSetResult | RejectedResult {
    if (c.key !== LIMITS_RECORD_KEY) return invalidArgument(c.key, "key", "setLimits names no key");
    const limits = tableLimitsOf(c);
    const problem = tableLimitsProblem(limits);
    if (problem !== null) return invalidArgument("", "limits", problem);
    // Against the replicated limits only: the configured ones in force before differ by member.
    const changed = !this.limitsFromLog || !sameTableLimits(limits, this.inForce);
    this.installLimits(limits);
    this.dirty.add(LIMITS_RECORD_KEY);
    return { type: "limitsSet", key: LIMITS_RECORD_KEY, limits, changed };
  }

  private advance(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.applied)
      throw new LockInvariantError(
        `apply index ${index} is not after applied index ${this.applied}`,
      );
    this.applied = index;
  }

  private checkKeyValue(key: string, value: string | null): RejectedResult | null {
    const { keyBytesMax, valueBytesMax } = this.limits;
    if (key.length === 0 || (key.length * 3 > keyBytesMax && utf8Bytes(key) > keyBytesMax))
      return invalidArgument(key, "key", `key must be 1..${keyBytesMax} UTF-8 bytes`);
    if (
      value !== null &&
      (value.length === 0 || (value.length * 3 > valueBytesMax && utf8Bytes(value) > valueBytesMax))
    )
      return invalidArgument(key, "value", `value must be 1..${valueBytesMax} UTF-8 bytes`);
    return null;
  }

  private checkTtl(key: string, ttlMs: number): RejectedResult | null {
    const { ttlMsMin, ttlMsMax } = this.limits;
    if (!(ttlMs >= ttlMsMin && ttlMs <= ttlMsMax))
      return invalidArgument(key, "ttlMs", `ttlMs must be in [${ttlMsMin}, ${ttlMsMax}]`);
    return null;
  }

  /** The key, value, TTL and wait of an acquire of any kind. */
  private checkAcquire(
    c: AcquireCommand | SemaphoreAcquireCommand | RwAcquireCommand,
  ): RejectedResult | null {
    const bad = this.checkKeyValue(c.key, c.value) ?? this.checkTtl(c.key, c.ttlMs);
    if (bad !== null) return bad;
    if (!(c.waitMs >= 0 && c.waitMs <= this.limits.waitMsMax))
      return invalidArgument(c.key, "waitMs", `waitMs must be in [0, ${this.limits.waitMsMax}]`);
    return null;
  }

  private check(command: LockCommand): RejectedResult | null {
    switch (command.type) {
      case "acquire": {
        const bad = this.checkAcquire(command);
        if (bad !== null) return bad;
        if (!(command.lockDelayMs >= 0 && command.lockDelayMs <= this.limits.lockDelayMsMax))
          return invalidArgument(
            command.key,
            "lockDelayMs",
            `lockDelayMs must be in [0, ${this.limits.lockDelayMsMax}]`,
          );
        return null;
      }
      case "refresh":
        return (
          this.checkKeyValue(command.key, command.value) ??
          this.checkTtl(command.key, command.ttlMs)
        );
      case "release":
      case "cancelWait":
        return this.checkKeyValue(command.key, command.value);
      case "semaphoreAcquire":
      case "rwAcquire":
        return this.checkAcquire(command) ?? this.multiHolders.check(command);
      default:
        // Lease commands name existing state; a stale or odd one simply does not match.
        return null;
    }
  }

  private acquire(index: number, c: AcquireCommand): LockResult {
    const bad = this.check(c);
    if (bad !== null) return bad;
    const other = this.multiHolders.state(c.key);
    if (other !== undefined)
      return refusedResult(
        c.key,
        "KIND_MISMATCH",
        `key "${c.key}" is in use as a ${KIND_NOUN[other.kind]}; use another key for the lock, or ${KIND_CALL[other.kind]} for this one`,
      );
    const s = this.table.get(c.key);
    // A keepalive whose wait already ended (expired, cancelled) must not start a new one.
    if (s === undefined && c.renewOnly === true) return busyResult(c.key, c.value, false, false);
    if (s === undefined) {
      if (this.size >= this.limits.locksMax) return locksFullResult(c.key, this.limits.locksMax);
      this.table.set(c.key, {
        key: c.key,
        holder: c.value,
        token: index,
        leaseRevision: index,
        ttlMs: c.ttlMs,
        lockDelayMs: c.lockDelayMs,
        delayRevision: 0,
        delayMs: 0,
        waiters: [],
      });
      this.dirty.add(c.key);
      return grantedResult(c, index, index, false);
    }
    if (s.holder === c.value) {
      // A retried (or repeated) acquire by the holder: same grant, fresh lease from this entry.
      s.leaseRevision = index;
      s.ttlMs = c.ttlMs;
      s.lockDelayMs = c.lockDelayMs;
      this.dirty.add(c.key);
      return grantedResult(c, s.token, index, true);
    }
    // Held by another value, or in lock delay.
    const position = findWaiter(s.waiters, c.value);
    if (position >= 0) {
      const waiter = s.waiters[position]!;
      if (c.waitMs === 0) {
        s.waiters.splice(position, 1);
        this.dirty.add(c.key);
        return busyResult(c.key, c.value, true, s.delayRevision > 0);
      }
      renewWaiter(waiter, index, c);
      waiter.lockDelayMs = c.lockDelayMs;
      this.dirty.add(c.key);
      return queuedResult(c, waiter, position);
    }
    if (c.waitMs === 0 || c.renewOnly === true) {
      return busyResult(c.key, c.value, false, s.delayRevision > 0);
    }
    if (s.waiters.length >= this.limits.waitersPerKeyMax)
      return waitersFullResult(c.key, this.limits.waitersPerKeyMax);
    const waiter: Waiter = { ...newWaiter(index, c), lockDelayMs: c.lockDelayMs };
    this.table.pushWaiter(c.key, waiter);
    this.dirty.add(c.key);
    return queuedResult(c, waiter, s.waiters.length - 1);
  }

  private refresh(index: number, c: RefreshCommand): LockResult {
    const bad = this.check(c);
    if (bad !== null) return bad;
    if (this.multiHolders.has(c.key)) return this.multiHolders.refresh(index, c);
    const s = this.table.get(c.key);
    if (s === undefined || s.holder !== c.value || s.token !== c.token)
      return refusedResult(c.key, "NOT_OWNER", NOT_OWNER_MESSAGE);
    s.leaseRevision = index;
    s.ttlMs = c.ttlMs;
    this.dirty.add(c.key);
    return refreshedResult(c, s.token, index);
  }

  private release(index: number, c: ReleaseCommand): LockResult {
    const bad = this.check(c);
    if (bad !== null) return bad;
    if (this.multiHolders.has(c.key)) return this.multiHolders.release(index, c);
    const s = this.table.get(c.key);
    if (s === undefined || s.holder !== c.value || (c.token !== 0 && s.token !== c.token))
      return { type: "notHeld", key: c.key, value: c.value, token: c.token };
    const token = s.token;
    this.clearHolder(s);
    const next = this.grantNext(s, index);
    this.settle(c.key, s);
    return { type: "released", key: c.key, value: c.value, token, next };
  }

  private expire(index: number, c: ExpireCommand): LockResult {
    const s = this.table.get(c.key);
    if (
      s === undefined ||
      s.holder === null ||
      s.token !== c.token ||
      (s.leaseRevision !== c.leaseRevision && !this.expireIgnoresRefresh)
    )
      return staleResult(c);
    const value = s.holder;
    const lockDelayMs = s.lockDelayMs;
    this.clearHolder(s);
    let next: WaiterGrant | null = null;
    if (lockDelayMs > 0) {
      s.delayRevision = index;
      s.delayMs = lockDelayMs;
    } else {
      next = this.grantNext(s, index);
    }
    this.settle(c.key, s);
    return {
      type: "expired",
      key: c.key,
      value,
      token: c.token,
      delayRevision: lockDelayMs > 0 ? index : 0,
      lockDelayMs,
      next,
    };
  }

  private clearDelay(index: number, c: ClearDelayCommand): LockResult {
    const s = this.table.get(c.key);
    if (s === undefined || s.delayRevision === 0 || s.delayRevision !== c.delayRevision)
      return staleResult(c);
    s.delayRevision = 0;
    s.delayMs = 0;
    const next = this.grantNext(s, index);
    this.settle(c.key, s);
    return { type: "delayCleared", key: c.key, next };
  }

  private waiterExpire(c: WaiterExpireCommand): LockResult {
    const s = this.table.get(c.key);
    if (s === undefined || takeWaiter(s.waiters, c.value, c.waiterRevision) === undefined)
      return staleResult(c);
    this.dirty.add(c.key);
    return waiterRemovedResult(c.key, c.value, c.waiterRevision, "expired");
  }

  private cancelWait(c: CancelWaitCommand): LockResult {
    const bad = this.check(c);
    if (bad !== null) return bad;
    const s = this.table.get(c.key);
    const waiter = s === undefined ? undefined : takeWaiter(s.waiters, c.value, null);
    if (s === undefined || waiter === undefined)
      return {
        type: "notQueued",
        key: c.key,
        value: c.value,
        heldToken: s !== undefined && s.holder === c.value ? s.token : 0,
      };
    this.dirty.add(c.key);
    return waiterRemovedResult(c.key, c.value, waiter.waiterRevision, "cancelled");
  }

  private clearHolder(s: KeyState): void {
    s.holder = null;
    s.token = 0;
    s.leaseRevision = 0;
    s.ttlMs = 0;
    s.lockDelayMs = 0;
  }

  /** Grants the head waiter in this same step (token = this entry's index): no polling, no herd. */
  private grantNext(s: KeyState, index: number): WaiterGrant | null {
    const waiter = s.waiters.shift();
    if (waiter === undefined) return null;
    s.holder = waiter.value;
    s.token = index;
    s.leaseRevision = index;
    s.ttlMs = waiter.ttlMs;
    s.lockDelayMs = waiter.lockDelayMs;
    return waiterGrant(waiter, index);
  }

  /**
   * Marks `key` dirty and deletes it once it has no holder, no delay and no waiters. The key is
   * the command's: the table's view would make a string of its stored bytes.
   */
  private settle(key: string, s: KeyState): void {
    this.dirty.add(key);
    if (s.holder === null && s.delayRevision === 0) {
      if (s.waiters.length !== 0)
        throw new LockInvariantError(`key ${key} has waiters but no holder and no delay`);
      this.table.delete(key);
    }
  }
}

/** Rejects a stored queue with a waiter newer than the applied index (`what` names the record). */
function checkWaitersLoadable(
  what: string,
  waiters: readonly QueuedAcquire[],
  appliedIndex: number,
): void {
  for (const w of waiters)
    if (w.waiterRevision > appliedIndex)
      throw new LockError("MALFORMED", `${what} has a waiter newer than the applied index`);
}
