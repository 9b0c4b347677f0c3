import type { LockCommand } from "@dlock/server/lock";

// An independent, deliberately naive model of docs/design.md §2 for the model-based test: lists and
// linear scans, no shared code with the state machine. It answers with a small summary of each
// result that the real machine's result must match.

interface Grant {
  value: string;
  token: number;
  revision: number;
  ttlMs: number;
  lockDelayMs: number;
}
interface QueuedWaiter {
  value: string;
  revision: number;
  ttlMs: number;
  lockDelayMs: number;
  requestId: number;
}

export interface ModelLimits {
  ttlMsMin: number;
  ttlMsMax: number;
  waitMsMax: number;
  lockDelayMsMax: number;
  waitersPerKeyMax: number;
  locksMax: number;
}

/** type, plus the token that was granted/ended and the value granted next (if any). */
export interface Summary {
  type: string;
  token?: number;
  next?: string | null;
  nextToken?: number;
  code?: string;
}

export class ReferenceModel {
  holders = new Map<string, Grant>();
  delays = new Map<string, number>();
  queues = new Map<string, QueuedWaiter[]>();
  constructor(private readonly limits: ModelLimits) {}

  private exists(key: string): boolean {
    return this.holders.has(key) || this.delays.has(key) || (this.queues.get(key)?.length ?? 0) > 0;
  }

  private popNext(key: string, index: number): QueuedWaiter | null {
    const queue = this.queues.get(key) ?? [];
    const head = queue.shift();
    if (head === undefined) return null;
    this.holders.set(key, {
      value: head.value,
      token: index,
      revision: index,
      ttlMs: head.ttlMs,
      lockDelayMs: head.lockDelayMs,
    });
    return head;
  }

  apply(
    index: number,
    c: Exclude<
      LockCommand,
      { type: "semaphoreAcquire" | "rwAcquire" | "permitExpire" | "setLimits" }
    >,
  ): Summary {
    const l = this.limits;
    switch (c.type) {
      case "acquire": {
        if (
          c.ttlMs < l.ttlMsMin ||
          c.ttlMs > l.ttlMsMax ||
          c.waitMs > l.waitMsMax ||
          c.lockDelayMs > l.lockDelayMsMax
        )
          return { type: "rejected", code: "INVALID_ARGUMENT" };
        const holder = this.holders.get(c.key);
        if (holder === undefined && !this.delays.has(c.key)) {
          let keys = 0;
          for (const k of new Set([
            ...this.holders.keys(),
            ...this.delays.keys(),
            ...this.queues.keys(),
          ]))
            if (this.exists(k)) keys++;
          if (keys >= l.locksMax) return { type: "rejected", code: "LOCKS_FULL" };
          this.holders.set(c.key, {
            value: c.value,
            token: index,
            revision: index,
            ttlMs: c.ttlMs,
            lockDelayMs: c.lockDelayMs,
          });
          return { type: "granted", token: index };
        }
        if (holder !== undefined && holder.value === c.value) {
          holder.revision = index;
          holder.ttlMs = c.ttlMs;
          holder.lockDelayMs = c.lockDelayMs;
          return { type: "granted", token: holder.token };
        }
        const queue = this.queues.get(c.key) ?? [];
        this.queues.set(c.key, queue);
        const mine = queue.find((w) => w.value === c.value);
        if (mine !== undefined) {
          if (c.waitMs === 0) {
            queue.splice(queue.indexOf(mine), 1);
            return { type: "busy" };
          }
          Object.assign(mine, {
            revision: index,
            ttlMs: c.ttlMs,
            lockDelayMs: c.lockDelayMs,
            requestId: c.requestId,
          });
          return { type: "queued" };
        }
        if (c.waitMs === 0) return { type: "busy" };
        if (queue.length >= l.waitersPerKeyMax) return { type: "rejected", code: "WAITERS_FULL" };
        queue.push({
          value: c.value,
          revision: index,
          ttlMs: c.ttlMs,
          lockDelayMs: c.lockDelayMs,
          requestId: c.requestId,
        });
        return { type: "queued" };
      }
      case "refresh": {
        if (c.ttlMs < l.ttlMsMin || c.ttlMs > l.ttlMsMax)
          return { type: "rejected", code: "INVALID_ARGUMENT" };
        const holder = this.holders.get(c.key);
        if (holder === undefined || holder.value !== c.value || holder.token !== c.token)
          return { type: "rejected", code: "NOT_OWNER" };
        holder.revision = index;
        holder.ttlMs = c.ttlMs;
        return { type: "refreshed", token: holder.token };
      }
      case "release": {
        const holder = this.holders.get(c.key);
        if (
          holder === undefined ||
          holder.value !== c.value ||
          (c.token !== 0 && holder.token !== c.token)
        )
          return { type: "notHeld" };
        this.holders.delete(c.key);
        const next = this.popNext(c.key, index);
        return {
          type: "released",
          token: holder.token,
          next: next?.value ?? null,
          nextToken: next ? index : 0,
        };
      }
      case "expire": {
        const holder = this.holders.get(c.key);
        if (holder === undefined || holder.token !== c.token || holder.revision !== c.leaseRevision)
          return { type: "stale" };
        this.holders.delete(c.key);
        if (holder.lockDelayMs > 0) {
          this.delays.set(c.key, index);
          return { type: "expired", token: holder.token, next: null, nextToken: 0 };
        }
        const next = this.popNext(c.key, index);
        return {
          type: "expired",
          token: holder.token,
          next: next?.value ?? null,
          nextToken: next ? index : 0,
        };
      }
      case "clearDelay": {
        if (this.delays.get(c.key) !== c.delayRevision) return { type: "stale" };
        this.delays.delete(c.key);
        const next = this.popNext(c.key, index);
        return { type: "delayCleared", next: next?.value ?? null, nextToken: next ? index : 0 };
      }
      case "waiterExpire": {
        const queue = this.queues.get(c.key) ?? [];
        const at = queue.findIndex((w) => w.value === c.value && w.revision === c.waiterRevision);
        if (at < 0) return { type: "stale" };
        queue.splice(at, 1);
        return { type: "waiterRemoved" };
      }
      case "cancelWait": {
        const queue = this.queues.get(c.key) ?? [];
        const at = queue.findIndex((w) => w.value === c.value);
        if (at < 0) {
          const holder = this.holders.get(c.key);
          return { type: "notQueued", token: holder?.value === c.value ? holder.token : 0 };
        }
        queue.splice(at, 1);
        return { type: "waiterRemoved" };
      }
    }
  }

  /** The model's view of a key in the shape of LockStateMachine.get(). */
  view(key: string): {
    held: boolean;
    value: string | null;
    fencingToken: number;
    leaseRevision: number;
    ttlMs: number;
    waiters: string[];
    inLockDelay: boolean;
  } {
    const holder = this.holders.get(key);
    return {
      held: holder !== undefined,
      value: holder?.value ?? null,
      fencingToken: holder?.token ?? 0,
      leaseRevision: holder?.revision ?? 0,
      ttlMs: holder?.ttlMs ?? 0,
      waiters: (this.queues.get(key) ?? []).map((w) => w.value),
      inLockDelay: this.delays.has(key),
    };
  }
}
