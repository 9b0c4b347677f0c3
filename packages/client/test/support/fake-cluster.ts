// A stand-in for a dlock cluster in client tests: one lock table with the semantics of docs/design.md §2
// (same-value re-acquire refreshes, release/refresh scoped by value and token, FIFO waiters,
// expiry by ttl), several node ids of which one leads, and knobs for faults. It is NOT the
// server: it exists to drive the client through every answer the protocol allows.
import type { AcquireRequest, ClientRequest, ClientResponse, WireError } from "@dlock/protocol";
import { LockBusyError, NotLeaderError, NotOwnerError, errorToWire } from "@dlock/protocol";
import type { Clock, TimerHandle } from "../../src/internal.js";

interface Holder {
  value: string;
  token: number;
  deadlineMs: number;
  expiryTimer: TimerHandle;
}

interface Waiter {
  request: AcquireRequest;
  enqueuedAtMs: number;
  reply: (response: ClientResponse) => void;
  timer: TimerHandle;
}

export interface FakeNode {
  id: string;
  /** The client address other nodes name in NOT_LEADER hints. */
  address: string;
  /** A paused node accepts connections and requests but never answers (SIGSTOP). */
  paused: boolean;
  /** A down node refuses connections. */
  down: boolean;
  /** The next connection gets this connection-level error (e.g. OVERLOADED) instead of a hello. */
  refuseNext?: WireError | null;
}

export interface ReceivedRequest {
  nodeId: string;
  atMs: number;
  request: ClientRequest;
}

export class FakeCluster {
  readonly nodes = new Map<string, FakeNode>();
  leaderId: string | null;
  /** Every request any node received, in order. */
  readonly received: ReceivedRequest[] = [];
  /** Every grant (a new token), in order: the true start of each holder's authority. */
  readonly grants: Array<{ key: string; value: string; token: number; atMs: number }> = [];
  /** Answer NOT_LEADER without a hint. */
  hideLeader = false;
  private readonly locks = new Map<string, Holder>();
  private readonly waiters = new Map<string, Waiter[]>();
  private raftIndex = 0;

  constructor(
    private readonly clock: Clock,
    nodes: Array<{ id: string; address: string }>,
    leaderId: string | null = nodes[0]?.id ?? null,
  ) {
    for (const node of nodes)
      this.nodes.set(node.id, { ...node, paused: false, down: false, refuseNext: null });
    this.leaderId = leaderId;
  }

  nodeByAddress(address: string): FakeNode | undefined {
    for (const node of this.nodes.values()) if (node.address === address) return node;
    return undefined;
  }

  holder(key: string): { value: string; token: number; deadlineMs: number } | null {
    const holder = this.locks.get(key);
    return holder
      ? { value: holder.value, token: holder.token, deadlineMs: holder.deadlineMs }
      : null;
  }

  waiterCount(key: string): number {
    return this.waiters.get(key)?.length ?? 0;
  }

  requestsOf(type: ClientRequest["type"]): ReceivedRequest[] {
    return this.received.filter((r) => r.request.type === type);
  }

  /** Takes `key` for `value` directly (another client holding it). */
  seize(key: string, value: string, ttlMs: number): number {
    return this.grant(key, value, ttlMs);
  }

  /** Drops a holder as if its lease had expired on the cluster. */
  expire(key: string): void {
    const holder = this.locks.get(key);
    if (!holder) return;
    this.clock.clearTimeout(holder.expiryTimer);
    this.locks.delete(key);
    this.promote(key);
  }

  /** Handles one request received by `nodeId`; `reply` may be called later (queued acquire). */
  handle(nodeId: string, request: ClientRequest, reply: (response: ClientResponse) => void): void {
    const node = this.nodes.get(nodeId);
    this.received.push({ nodeId, atMs: this.clock.now(), request });
    if (!node || node.paused) return;
    if (nodeId !== this.leaderId && request.type !== "status") {
      const leader = this.leaderId && !this.hideLeader ? this.nodes.get(this.leaderId) : undefined;
      const hint = leader ? { id: leader.id, clientAddress: leader.address } : null;
      reply(this.error(request.id, new NotLeaderError(hint)));
      return;
    }
    const ok = (result: unknown) => reply({ type: "ok", id: request.id, result });
    const now = this.clock.now();
    switch (request.type) {
      case "acquire": {
        const holder = this.locks.get(request.key);
        if (!holder) {
          ok({
            fencingToken: this.grant(request.key, request.value, request.ttlMs),
            ttlMs: request.ttlMs,
            waitedMs: 0,
          });
          return;
        }
        if (holder.value === request.value) {
          this.extend(request.key, holder, request.ttlMs);
          ok({ fencingToken: holder.token, ttlMs: request.ttlMs, waitedMs: 0 });
          return;
        }
        if (request.waitMs && request.waitMs > 0) {
          const queue = this.waiters.get(request.key) ?? [];
          this.waiters.set(request.key, queue);
          const waiter: Waiter = {
            request,
            enqueuedAtMs: now,
            reply,
            timer: this.clock.setTimeout(() => {
              const index = queue.indexOf(waiter);
              if (index >= 0) {
                queue.splice(index, 1);
                reply(this.error(request.id, new LockBusyError(request.key)));
              }
            }, request.waitMs),
          };
          queue.push(waiter);
          return;
        }
        reply(this.error(request.id, new LockBusyError(request.key)));
        return;
      }
      case "refresh": {
        const holder = this.locks.get(request.key);
        if (!holder || holder.value !== request.value || holder.token !== request.token) {
          reply(
            this.error(
              request.id,
              new NotOwnerError(`grant ${request.token} does not hold "${request.key}"`),
            ),
          );
          return;
        }
        this.extend(request.key, holder, request.ttlMs);
        ok({ ttlMs: request.ttlMs });
        return;
      }
      case "release": {
        const holder = this.locks.get(request.key);
        const matches =
          holder !== undefined &&
          holder.value === request.value &&
          (request.token === undefined || holder.token === request.token);
        if (matches) {
          this.clock.clearTimeout(holder.expiryTimer);
          this.locks.delete(request.key);
          this.promote(request.key);
        }
        ok({ released: matches });
        return;
      }
      case "cancel": {
        const queue = this.waiters.get(request.key) ?? [];
        const index = queue.findIndex((w) => w.request.requestId === request.requestId);
        if (index >= 0) {
          const [waiter] = queue.splice(index, 1);
          this.clock.clearTimeout(waiter.timer);
          // The cancelled acquire is answered too, so the client's request does not hang.
          waiter.reply(this.error(waiter.request.id, new LockBusyError(request.key, "cancelled")));
        }
        // Not queued because its wait already ended in a grant: name that grant, like the server.
        const holder = this.locks.get(request.key);
        ok(
          index < 0 && holder?.value === request.value
            ? { cancelled: false, fencingToken: holder.token }
            : { cancelled: index >= 0 },
        );
        return;
      }
      case "get": {
        const holder = this.locks.get(request.key);
        ok({
          held: holder !== undefined,
          value: holder?.value ?? null,
          fencingToken: holder?.token ?? null,
          ttlRemainingMs: holder ? Math.max(0, holder.deadlineMs - now) : null,
          waiters: this.waiterCount(request.key),
        });
        return;
      }
      case "status":
        ok({
          leader: this.leaderId,
          term: 1,
          members: [...this.nodes.values()].map((n) => ({
            id: n.id,
            role: n.id === this.leaderId ? "leader" : "follower",
            term: 1,
            commitIndex: this.raftIndex,
            appliedIndex: this.raftIndex,
            healthy: !n.down && !n.paused,
            clientAddress: n.address,
          })),
        });
        return;
    }
  }

  private error(id: number, error: Error): ClientResponse {
    const wire: WireError = errorToWire(error);
    return { type: "error", id, error: wire };
  }

  private grant(key: string, value: string, ttlMs: number): number {
    const token = ++this.raftIndex;
    this.grants.push({ key, value, token, atMs: this.clock.now() });
    const holder: Holder = { value, token, deadlineMs: 0, expiryTimer: null };
    this.locks.set(key, holder);
    this.extend(key, holder, ttlMs);
    return token;
  }

  private extend(key: string, holder: Holder, ttlMs: number): void {
    this.clock.clearTimeout(holder.expiryTimer);
    holder.deadlineMs = this.clock.now() + ttlMs;
    holder.expiryTimer = this.clock.setTimeout(() => {
      if (this.locks.get(key) === holder) {
        this.locks.delete(key);
        this.promote(key);
      }
    }, ttlMs);
  }

  /** Grants the lock to the first waiter, in the same step as the release or expiry. */
  private promote(key: string): void {
    const queue = this.waiters.get(key);
    const waiter = queue?.shift();
    if (!waiter) return;
    this.clock.clearTimeout(waiter.timer);
    const { request } = waiter;
    const token = this.grant(key, request.value, request.ttlMs);
    waiter.reply({
      type: "ok",
      id: request.id,
      result: {
        fencingToken: token,
        ttlMs: request.ttlMs,
        waitedMs: this.clock.now() - waiter.enqueuedAtMs,
      },
    });
  }
}
