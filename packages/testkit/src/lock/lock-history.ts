import type { Lock } from "@dlock/client";
import type { ClientRequest, ClientResponse } from "@dlock/protocol";
import type { LockCommand, LockResult } from "@dlock/server/lock";
import type { ClientWireObserver } from "./client-network.js";
import type { SimProcessClock } from "./sim-process.js";

// What a lock run leaves for the checkers, all in true (simulator) time: every request a client
// put on the wire and the answer that reached it (if any), every committed lock entry with its
// result, every client's belief that it holds a lock, and every write to the fenced resource.

/** A request as the history sees it (status and membership requests carry no key: not recorded). */
export type KeyedRequest = Extract<ClientRequest, { key: string }>;

/** One request on the wire: invoked when sent, returned when its answer reached the client. */
export interface WireOp {
  id: number;
  client: string;
  key: string;
  request: KeyedRequest;
  invokeMs: number;
  /** null: no answer ever reached the client (it may still have taken effect). */
  returnMs: number | null;
  response: ClientResponse | null;
}

/** A request `client` puts on the wire now; its answer, if one arrives, fills in the rest. */
export function wireOpOf(
  id: number,
  client: string,
  request: KeyedRequest,
  invokeMs: number,
): WireOp {
  return { id, client, key: request.key, request, invokeMs, returnMs: null, response: null };
}

/** A committed normal entry, with its command and result, first applied at `appliedMs`. */
export interface CommittedLockEntry {
  index: number;
  term: number;
  /** Chain hash of the log through this entry (see log-chain.ts): identifies it across crashes. */
  chain: number;
  command: LockCommand | null;
  result: LockResult;
  appliedMs: number;
}

/**
 * A client's belief that it holds (key, token): from the moment the grant was handed to the
 * application until `endMs` (released, lost, crashed) or until its validity ran out, whichever is
 * first. `extensions` lists each change of the client's "valid until", converted to true time,
 * when it happened.
 */
export interface Belief {
  id: number;
  client: string;
  key: string;
  value: string;
  token: number;
  startMs: number;
  extensions: { atMs: number; validUntilMs: number }[];
  endMs: number | null;
  endReason: string | null;
  /** Set for permits of a semaphore key: its N and how many of them this belief holds. */
  permit?: { permits: number; count: number };
  /** Set for a reader-writer key: held as a reader or as its writer. */
  rw?: "read" | "write";
}

/**
 * A write sent to the fenced resource: by a client that checked it still held the lock
 * (`believed`), or a zombie write with an old token after the lock was over (a process that
 * resumed from a pause and wrote without checking: what fencing tokens are for).
 */
export interface ResourceWrite {
  key: string;
  token: number;
  client: string;
  beliefId: number;
  believed: boolean;
  issueMs: number;
  arriveMs: number | null;
  accepted: boolean | null;
}

/** A leader as observe() reports it: the leadership's value and fencing token. */
export interface ObservedLeader {
  value: string | null;
  token: number;
}

/**
 * One observe() of an election by `client`: every leader it reported (null: nobody leads), in
 * order, each with the true time it reached the application.
 */
export interface Observation {
  id: number;
  client: string;
  /** The election's lock key (`election/<name>`). */
  key: string;
  /** When observe() was called (true ms). */
  startMs: number;
  reports: { atMs: number; leader: ObservedLeader | null }[];
}

interface ActiveBelief {
  belief: Belief;
  clock: SimProcessClock;
  lock: Lock | null;
  lastValidUntil: number;
}

export class LockHistory implements ClientWireObserver {
  readonly ops: WireOp[] = [];
  readonly committed = new Map<number, CommittedLockEntry>();
  readonly beliefs: Belief[] = [];
  readonly writes: ResourceWrite[] = [];
  readonly observations: Observation[] = [];
  private readonly inFlight = new Map<string, WireOp>();
  private readonly active = new Set<ActiveBelief>();
  private readonly activeByClient = new Map<string, Set<ActiveBelief>>();

  constructor(private readonly nowMs: () => number) {}

  /** Acquire requests sent and not yet answered (interesting-event detection). */
  get acquiresInFlight(): number {
    let count = 0;
    for (const op of this.inFlight.values()) if (op.request.type === "acquire") count++;
    return count;
  }

  requestSent(client: string, connectionId: number, request: ClientRequest): void {
    // Status and membership requests name no key: they cannot change a lock.
    if (!("key" in request)) return;
    const op = wireOpOf(this.ops.length, client, request, this.nowMs());
    this.ops.push(op);
    this.inFlight.set(`${connectionId}/${request.id}`, op);
  }

  responseReceived(_client: string, connectionId: number, response: ClientResponse): void {
    if (response.id === null) return;
    const id = `${connectionId}/${response.id}`;
    const op = this.inFlight.get(id);
    if (op === undefined) return;
    this.inFlight.delete(id);
    op.returnMs = this.nowMs();
    op.response = response;
  }

  /** A client process died: what it sent and never heard back about stays pending forever. */
  forgetClient(client: string): void {
    for (const [id, op] of this.inFlight) if (op.client === client) this.inFlight.delete(id);
    const active = this.activeByClient.get(client);
    if (active === undefined) return;
    for (const entry of [...active]) this.endActive(entry, "the client crashed");
  }

  /** Records the first application of a committed entry anywhere. */
  observeApplied(
    index: number,
    term: number,
    chain: number,
    command: LockCommand | null,
    result: LockResult,
  ): CommittedLockEntry | null {
    if (this.committed.has(index)) return null;
    const entry: CommittedLockEntry = {
      index,
      term,
      chain,
      command,
      result,
      appliedMs: this.nowMs(),
    };
    this.committed.set(index, entry);
    return entry;
  }

  /**
   * A client starts believing it holds a lock. With a Lock, its validity and state are followed
   * by poll(); a bare grant has a fixed validity and ends by endBelief().
   */
  beginBelief(options: {
    client: string;
    key: string;
    value: string;
    token: number;
    clock: SimProcessClock;
    lock: Lock | null;
    validUntilMs: number;
    permit?: { permits: number; count: number };
    rw?: "read" | "write";
  }): Belief {
    const now = this.nowMs();
    const belief: Belief = {
      id: this.beliefs.length,
      client: options.client,
      key: options.key,
      value: options.value,
      token: options.token,
      startMs: now,
      extensions: [{ atMs: now, validUntilMs: options.clock.toTrueMs(options.validUntilMs) }],
      endMs: null,
      endReason: null,
    };
    if (options.permit !== undefined) belief.permit = { ...options.permit };
    if (options.rw !== undefined) belief.rw = options.rw;
    this.beliefs.push(belief);
    const entry: ActiveBelief = {
      belief,
      clock: options.clock,
      lock: options.lock,
      lastValidUntil: options.validUntilMs,
    };
    this.active.add(entry);
    let byClient = this.activeByClient.get(options.client);
    if (byClient === undefined) {
      byClient = new Set();
      this.activeByClient.set(options.client, byClient);
    }
    byClient.add(entry);
    if (options.lock !== null && options.lock.state !== "held") this.endActive(entry, "lost");
    return belief;
  }

  endBelief(belief: Belief, reason: string): void {
    const byClient = this.activeByClient.get(belief.client);
    if (byClient === undefined) return;
    for (const entry of byClient) if (entry.belief === belief) this.endActive(entry, reason);
  }

  /**
   * Follows every held Lock: a new "valid until" or a state other than held is recorded at the
   * current time. Called after every event that ran client code, so nothing is missed.
   */
  poll(): void {
    for (const entry of this.active) {
      const lock = entry.lock;
      if (lock === null) continue;
      const validUntil = lock.validUntilMs;
      if (validUntil !== entry.lastValidUntil) {
        entry.lastValidUntil = validUntil;
        entry.belief.extensions.push({
          atMs: this.nowMs(),
          validUntilMs: entry.clock.toTrueMs(validUntil),
        });
      }
      if (lock.state !== "held") this.endActive(entry, lock.state);
    }
  }

  /** A client starts observing an election: push its reports onto the returned record. */
  beginObservation(client: string, key: string): Observation {
    const observation: Observation = {
      id: this.observations.length,
      client,
      key,
      startMs: this.nowMs(),
      reports: [],
    };
    this.observations.push(observation);
    return observation;
  }

  recordWrite(write: ResourceWrite): void {
    this.writes.push(write);
  }

  /** The beliefs not ended yet (at the end of a run). */
  get activeBeliefs(): number {
    return this.active.size;
  }

  private endActive(entry: ActiveBelief, reason: string): void {
    if (!this.active.delete(entry)) return;
    this.activeByClient.get(entry.belief.client)?.delete(entry);
    entry.belief.endMs = this.nowMs();
    entry.belief.endReason = reason;
  }
}

/** The beliefs of each key, in the order given. */
export function beliefsByKey(beliefs: readonly Belief[]): Map<string, Belief[]> {
  const byKey = new Map<string, Belief[]>();
  for (const belief of beliefs) {
    const list = byKey.get(belief.key);
    if (list === undefined) byKey.set(belief.key, [belief]);
    else list.push(belief);
  }
  return byKey;
}

/**
 * When a belief really ended: at endMs, or earlier at the first moment its validity had run out
 * (the client vouches only while now < valid until, and a lost lock never comes back).
 */
export function beliefEndMs(belief: Belief): number {
  let validUntil = -Infinity;
  for (const extension of belief.extensions) {
    if (extension.atMs >= validUntil && validUntil !== -Infinity) break;
    validUntil = Math.max(validUntil, extension.validUntilMs);
  }
  return belief.endMs === null ? validUntil : Math.min(validUntil, belief.endMs);
}
