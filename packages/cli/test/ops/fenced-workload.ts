// Clients that take locks while the cluster changes under them, and the checks on what they saw.
// Workers lock a random key of a small set (FIFO wait), write to a fenced resource with the
// token, hold it briefly and release; a few locks stay held (auto-refreshed) the whole time. The
// recorded history is checked afterwards: no two holders of a key at once (as the clients
// believed), tokens only increase per key, the resource never saw a stale token, no operation
// failed and no held lock was lost.
import { Locker } from "@dlock/client";
import type { Lock } from "@dlock/client";

export interface WorkloadOptions {
  endpoints: string[];
  clusterId: string;
  /** Printed, and replays the same choices of keys and hold times. */
  seed: number;
  keys?: number;
  workers?: number;
  /** Locks held (and refreshed) from start to stop. */
  heldLocks?: number;
  ttlMs?: number;
}

export interface Holding {
  key: string;
  value: string;
  token: number;
  /** performance.now() when the grant arrived, and when the release was sent. */
  fromMs: number;
  toMs: number;
}

export interface WorkloadReport {
  cycles: number;
  history: Holding[];
  failures: string[];
  lostHeld: string[];
  staleWrites: number;
  /** The held locks and their tokens, still held at the end (checked with a read). */
  held: Array<{ key: string; token: number }>;
}

/** mulberry32: a small seeded generator, so a run can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A worker stops after this many failures of the whole workload (the run has failed anyway). */
const FAILURES_MAX = 100;

export class FencedWorkload {
  private readonly locker: Locker;
  private readonly options: Required<WorkloadOptions>;
  private readonly random: () => number;
  private readonly history: Holding[] = [];
  private readonly failures: string[] = [];
  private readonly lostHeld: string[] = [];
  /** The fenced resource: the highest token it accepted per key. */
  private readonly highest = new Map<string, number>();
  private staleWrites = 0;
  private readonly heldLocks: Lock[] = [];
  private running: Promise<void>[] = [];
  private stopping = false;

  constructor(options: WorkloadOptions) {
    this.options = { keys: 8, workers: 6, heldLocks: 4, ttlMs: 6_000, ...options };
    this.random = seeded(options.seed);
    this.locker = new Locker({ endpoints: options.endpoints, clusterId: options.clusterId });
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.options.heldLocks; i++) {
      const lock = await this.locker.lock(`held/${i}`, `holder-${i}`, { ttl: this.options.ttlMs });
      lock.onLost((error) => this.lostHeld.push(`held/${i}: ${error.message}`));
      this.heldLocks.push(lock);
    }
    for (let w = 0; w < this.options.workers; w++) this.running.push(this.worker(w));
  }

  async stop(): Promise<WorkloadReport> {
    this.stopping = true;
    await Promise.all(this.running);
    this.running = [];
    const held = this.heldLocks.map((lock) => ({ key: lock.key, token: lock.fencingToken }));
    for (const lock of this.heldLocks) {
      if (!lock.isValid()) this.lostHeld.push(`${lock.key}: not valid at the end`);
    }
    return {
      cycles: this.history.length,
      history: this.history,
      failures: this.failures,
      lostHeld: this.lostHeld,
      staleWrites: this.staleWrites,
      held,
    };
  }

  /** Stops the workers (if stop() was not called), releases the held locks, closes the client. */
  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
    for (const lock of this.heldLocks) await lock.release().catch(() => undefined);
    await this.locker.close();
  }

  /** A linearizable read through the workload's client. */
  get(key: string) {
    return this.locker.get(key);
  }

  private async worker(index: number): Promise<void> {
    let sequence = 0;
    while (!this.stopping) {
      const key = `key/${Math.floor(this.random() * this.options.keys)}`;
      const value = `w${index}-${sequence++}`;
      const holdMs = 1 + Math.floor(this.random() * 15);
      let lock: Lock;
      try {
        lock = await this.locker.lock(key, value, { ttl: this.options.ttlMs, wait: "30s" });
      } catch (error) {
        this.failures.push(`lock ${key}: ${(error as Error).message}`);
        // Bounded: a cluster that stays down must not fill memory with failures.
        if (this.failures.length >= FAILURES_MAX) return;
        continue;
      }
      const fromMs = performance.now();
      this.write(key, lock.fencingToken);
      await sleep(holdMs);
      this.write(key, lock.fencingToken);
      if (!lock.isValid()) this.failures.push(`${key} (${value}) lost while held`);
      const toMs = performance.now();
      this.history.push({ key, value, token: lock.fencingToken, fromMs, toMs });
      try {
        const outcome = await lock.release();
        if (!outcome.released || outcome.lost) {
          this.failures.push(`release ${key} (${value}): ${JSON.stringify(outcome)}`);
        }
      } catch (error) {
        this.failures.push(`release ${key}: ${(error as Error).message}`);
      }
    }
  }

  /** The fenced resource: refuses (and counts) a token lower than one it already accepted. */
  private write(key: string, token: number): void {
    const highest = this.highest.get(key) ?? 0;
    if (token < highest) this.staleWrites++;
    else this.highest.set(key, token);
  }
}

/** What is wrong with a history: overlapping holders or tokens that went back, per key. */
export function historyProblems(history: readonly Holding[]): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, Holding[]>();
  for (const holding of history) {
    const list = byKey.get(holding.key) ?? [];
    list.push(holding);
    byKey.set(holding.key, list);
  }
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.fromMs - b.fromMs);
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1];
      const current = list[i];
      if (current.fromMs < previous.toMs) {
        problems.push(
          `${key}: ${current.value} (token ${current.token}) held from ${current.fromMs.toFixed(1)} while ${previous.value} (token ${previous.token}) held until ${previous.toMs.toFixed(1)}`,
        );
      }
      if (current.token <= previous.token) {
        problems.push(`${key}: token ${current.token} after ${previous.token}`);
      }
    }
  }
  return problems;
}
