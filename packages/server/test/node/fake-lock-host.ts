// A single-node stand-in for RaftHost that applies proposals to a real LockStateMachine, with
// virtual time and timers, so LockService can be tested deterministically.
import type { Entry, Role } from "@dlock/raft";
import { notLeaderError } from "@dlock/raft";
import type { RoleChange } from "../../src/host/raft-host.js";
import { LeaseManager, LockStateMachine, decodeCommand } from "../../src/lock/index.js";
import type { LockCommand, LockResult } from "../../src/lock/index.js";
import { LockService } from "../../src/node/lock-service.js";
import type { LockServiceHost, ServiceTimers } from "../../src/node/lock-service.js";
import type { LockServicePlantedBugs } from "../../src/internal.js";
import { withPlantedServiceBugs } from "../../src/internal.js";

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/** Virtual time: timers fire only inside advance(). */
export class VirtualTimers implements ServiceTimers {
  now = 1_000;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  set(callback: () => void, delayMs: number): unknown {
    const timer = { at: this.now + delayMs, seq: this.seq++, callback };
    this.timers.add(timer);
    return timer;
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      let next: Timer | null = null;
      for (const timer of this.timers) {
        if (timer.at > end) continue;
        if (next === null || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))
          next = timer;
      }
      if (next === null) break;
      this.timers.delete(next);
      this.now = Math.max(this.now, next.at);
      next.callback();
      await settle();
    }
    this.now = end;
    await settle();
  }

  get pending(): number {
    return this.timers.size;
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export class FakeLockHost implements LockServiceHost {
  readonly table: LockStateMachine;
  readonly proposed: LockCommand[] = [];
  readIndexCalls = 0;
  /** When set, proposals fail with it (e.g. the core stepped down before the service heard). */
  refuseProposals: Error | null = null;
  private index = 1;
  private role: Role = "follower";
  private leader: string | null = null;
  private term = 1;
  private readonly roleListeners = new Set<(change: RoleChange) => void>();
  private readonly applyListeners = new Set<
    (entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>) => void
  >();

  constructor(
    table: LockStateMachine,
    private readonly timers: VirtualTimers,
  ) {
    this.table = table;
  }

  async propose(
    data: Uint8Array,
    onProposed?: (index: number) => void,
  ): Promise<LockResult | undefined> {
    if (this.role !== "leader") throw notLeaderError(this.leader);
    if (this.refuseProposals !== null) throw this.refuseProposals;
    this.proposed.push(decodeCommand(data));
    await Promise.resolve();
    const index = ++this.index;
    onProposed?.(index);
    const result = this.table.applyEntry(index, data);
    const entry: Entry = { index, term: this.term, kind: "normal", data };
    for (const listener of this.applyListeners) listener([entry], [result]);
    return result;
  }

  async readIndex(): Promise<void> {
    this.readIndexCalls++;
    if (this.role !== "leader") throw notLeaderError(this.leader);
    await Promise.resolve();
  }

  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  onApply(
    listener: (entries: readonly Entry[], results: ReadonlyArray<LockResult | undefined>) => void,
  ): () => void {
    this.applyListeners.add(listener);
    return () => this.applyListeners.delete(listener);
  }

  setRole(role: Role, leader: string | null, term = this.term): void {
    this.role = role;
    this.leader = leader;
    this.term = term;
    const change: RoleChange = { role, leader, term, atMs: this.timers.now };
    for (const listener of this.roleListeners) listener(change);
  }

  commands(type: LockCommand["type"]): LockCommand[] {
    return this.proposed.filter((c) => c.type === type);
  }
}

export const ELECTION_TIMEOUT_MS = 200;
export const TTL_MS = 1_000;

export function makeService(plantedBugs: LockServicePlantedBugs = {}): {
  service: LockService;
  host: FakeLockHost;
  timers: VirtualTimers;
  table: LockStateMachine;
} {
  const timers = new VirtualTimers();
  const table = new LockStateMachine({ limits: { electionTimeoutMs: ELECTION_TIMEOUT_MS } });
  const host = new FakeLockHost(table, timers);
  const service = new LockService(
    withPlantedServiceBugs(
      {
        host,
        table,
        leases: new LeaseManager(),
        nowMs: () => timers.now,
        timers,
        clientAddressOf: (id) => (id === "n2" ? "127.0.0.1:7002" : null),
        status: () => ({ leader: "n1", term: 1, members: [] }),
      },
      plantedBugs,
    ),
  );
  return { service, host, timers, table };
}
